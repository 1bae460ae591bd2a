# Reproduction, abridged: the Keras model definition is shortened to one layer.
import argparse

import numpy as np
import pickle5 as pkl
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument('--LR')
parser.add_argument('--EPOCHS')
parser.add_argument('--EMBED_DIM', type=int)
args = vars(parser.parse_args())

with open("/data/train.pkl", "rb") as f:
    x_train, y_train = pkl.load(f)


def gru_layer(hidden_dim, dropout):
    return tf.keras.layers.Bidirectional(
        tf.keras.layers.GRU(hidden_dim, dropout=dropout, return_sequences=True)
    )


model = tf.keras.Sequential([tf.keras.layers.Embedding(14, args['EMBED_DIM']), gru_layer(128, 0.5)])
model.compile(tf.optimizers.Adam(float(args['LR'])), loss='mse')
history = model.fit(np.asarray(x_train), np.asarray(y_train), epochs=int(args['EPOCHS']))
model.save("/data/model.h5")
