# Reproduction, abridged: a pipeline component's entry script, run at module level.
import argparse
import json
import os
import pickle

import numpy as np
from tensorflow import gfile


def load_feature(input_x_path):
  with gfile.Open(input_x_path, 'rb') as input_x_file:
    return pickle.loads(input_x_file.read())


def load_label(input_y_path):
  with gfile.Open(input_y_path, 'rb') as input_y_file:
    return pickle.loads(input_y_file.read())


parser = argparse.ArgumentParser()
parser.add_argument('--input-x-path', type=str, help='')
parser.add_argument('--input-y-path', type=str, help='')
parser.add_argument('--output-model-path', type=str, help='')
args = parser.parse_args()

print(os.path.dirname(args.output_model_path))
print(args.input_x_path)
print(args.input_y_path)

X = load_feature(args.input_x_path)
y = load_label(args.input_y_path)
print(json.dumps({"rows": int(np.shape(X)[0]), "labels": int(np.shape(y)[0])}))
