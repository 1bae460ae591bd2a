# Reproduction, abridged: the word-level corpus reader.
import os

import torch


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, 'train.txt'))
        self.test = self.tokenize(os.path.join(path, 'test.txt'))

    def tokenize(self, path):
        """Tokenizes a text file."""
        ids = []
        with open(path, 'r', encoding="utf8") as f:
            for line in f:
                ids.extend(self.dictionary.add_word(word) for word in line.split() + ['<eos>'])
        return torch.tensor(ids, dtype=torch.int64)
