"""seqgan_gp.lm: the maximum-likelihood baseline of a text GAN (``train-lm``), and the quality–diversity
frontier that compares the two kinds (``evaluate --temperatures``).

* config: :class:`LMConfig` (the schedule, train-text's corpus fields, the model) and its presets;
* models: the GAN generator's conv ResNet made causal, and an LSTM; likelihood: the teacher-forced
  NLL; sampling: autoregressive rows at a temperature; task: the run, as a task of the core;
* inference: any text checkpoint (GAN or language model) as a sampler of rows; evaluate: the
  metrics of one; frontier and frontier_plot: several runs swept over temperatures.

It may import the core, ``seqgan_gp.text`` and ``corpora``; only the command line imports it.
"""
