# Reproduction, abridged: upscale one image with a model saved whole by main.py.
import argparse

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import ToTensor

from model import Net

parser = argparse.ArgumentParser(description='PyTorch Super Res Example')
parser.add_argument('--input_image', type=str, required=True, help='input image to use')
parser.add_argument('--model', type=str, required=True, help='model file to use')
parser.add_argument('--output_filename', type=str, help='where to save the output image')
opt = parser.parse_args()

print(opt)
img = Image.open(opt.input_image).convert('YCbCr')
y, cb, cr = img.split()

with open(opt.model, 'rb') as f:
    safe_globals = [
        Net,
        torch.nn.modules.activation.ReLU,
        torch.nn.modules.conv.Conv2d,
        torch.nn.modules.pixelshuffle.PixelShuffle,
    ]
    with torch.serialization.safe_globals(safe_globals):
        model = torch.load(f)

input = ToTensor()(y).view(1, -1, y.size[1], y.size[0])
out = model(input).cpu()
out_img_y = Image.fromarray(np.uint8(out[0].detach().numpy().clip(0, 1)[0] * 255.0), mode='L')
out_img = Image.merge('YCbCr', [out_img_y, cb.resize(out_img_y.size), cr.resize(out_img_y.size)])
out_img.convert('RGB').save(opt.output_filename)
print('output image saved to ', opt.output_filename)
