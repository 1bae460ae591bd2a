# Reproduction, abridged: sample words from a trained language model.
import argparse

import torch

import data

parser = argparse.ArgumentParser(description='PyTorch Wikitext-2 Language Model')
parser.add_argument('--data', type=str, default='./data/wikitext-2')
parser.add_argument('--checkpoint', type=str, default='./model.pt')
parser.add_argument('--words', type=int, default=1000)
parser.add_argument('--seed', type=int, default=1111, help='random seed')
args = parser.parse_args()

# Set the random seed manually for reproducibility.
torch.manual_seed(args.seed)
device = torch.device("cpu")

with open(args.checkpoint, 'rb') as f:
    model = torch.load(f, map_location=device)
model.eval()

corpus = data.Corpus(args.data)
ntokens = len(corpus.dictionary)
hidden = model.init_hidden(1)
input = torch.randint(ntokens, (1, 1), dtype=torch.long).to(device)

with open('generated.txt', 'w') as outf:
    with torch.no_grad():  # no tracking history
        for i in range(args.words):
            output, hidden = model(input, hidden)
            word_idx = torch.multinomial(output.squeeze().exp().cpu(), 1)[0]
            input.fill_(word_idx)
            outf.write(corpus.dictionary.idx2word[word_idx] + ' ')
