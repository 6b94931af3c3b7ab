import math

import pytest
import torch

from seqgan_gp.init import tflib_conv_
from seqgan_gp.text.models import ResBlock, TextCritic, TextGenerator


def test_generator_rows_are_distributions():
    torch.manual_seed(0)
    G = TextGenerator(vocab_size=11, seq_len=7, dim=8, blocks=2)
    p = G(torch.randn(5, 128))
    assert p.shape == (5, 7, 11)
    assert torch.all(p >= 0)
    assert torch.allclose(p.sum(-1), torch.ones(5, 7), atol=1e-6)


def test_critic_scores_one_number_per_sentence_and_reads_one_hot():
    torch.manual_seed(0)
    D = TextCritic(vocab_size=11, seq_len=7, dim=8, blocks=2)
    ids = torch.randint(0, 11, (4, 7))
    one_hot = torch.nn.functional.one_hot(ids, 11).float()
    scores = D(one_hot)
    assert scores.shape == (4,)
    # per-example: scoring a sentence alone gives the same value as in a batch (no batch statistics)
    assert torch.allclose(D(one_hot[1:2]), scores[1:2], atol=1e-5)


def test_residual_block_adds_point_three_of_its_branch():
    torch.manual_seed(0)
    block = ResBlock(4, kernel=5)
    x = torch.randn(2, 4, 9)
    branch = block.conv2(torch.relu(block.conv1(torch.relu(x))))
    assert torch.allclose(block(x), x + 0.3 * branch)


def test_convolutions_use_the_reference_uniform_he_initialisation():
    torch.manual_seed(0)
    conv = tflib_conv_(torch.nn.Conv1d(256, 256, 5))
    std = math.sqrt(4.0 / (256 * 5 + 256 * 5))
    assert conv.weight.std().item() == pytest.approx(std, rel=0.02)
    assert conv.weight.abs().max().item() <= std * math.sqrt(3) + 1e-7
    assert torch.all(conv.bias == 0)


def test_generator_layer_sizes_follow_the_paper():
    G = TextGenerator(vocab_size=2048, seq_len=32, dim=512, blocks=5)
    assert G.fc.in_features == 128 and G.fc.out_features == 32 * 512
    assert len(G.blocks) == 5 and G.blocks[0].conv1.kernel_size == (5,)
    assert G.out.kernel_size == (1,) and G.out.out_channels == 2048
    D = TextCritic(vocab_size=2048, seq_len=32, dim=512, blocks=5)
    assert D.inp.in_channels == 2048 and D.inp.kernel_size == (1,) and D.fc.in_features == 32 * 512
