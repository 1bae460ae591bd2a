# Reproduction, abridged: two of the module's helpers.
import logging

import dill as dpickle
import numpy as np


def load_text_processor(fname='title_pp.dpkl'):
  """Load a ktext processor from disk; return the vocabulary size and the processor."""
  with open(fname, 'rb') as f:
    pp = dpickle.load(f)

  num_tokens = max(pp.id2token.keys()) + 1
  logging.info('Size of vocabulary for %s: %d', fname, num_tokens)
  return num_tokens, pp


def load_decoder_inputs(decoder_np_vecs='train_title_vecs.npy'):
  """Load decoder inputs: teacher-forcing input and target, shifted by one token."""
  vectorized_title = np.load(decoder_np_vecs)
  decoder_input_data = vectorized_title[:, :-1]
  decoder_target_data = vectorized_title[:, 1:]
  return decoder_input_data, decoder_target_data
