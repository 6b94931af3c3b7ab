"""The paper's character-level language GAN (gan_language.py) as a task of the core.

Owns the text configuration, reading a corpus through the encoded-corpus cache, the 1-D
convolutional ResNet generator and critic, sampling and decoding, the text metrics (JS-n, BLEU,
grammar validity), the class-conditional variant (``--label-column``: conditional networks, a
real-data classifier and per-class metrics) and the ``train-text`` task. May import the core (``seqgan_gp``) and ``corpora``;
never ``image``, ``seqgan_gp.toy`` or the command line.
"""
