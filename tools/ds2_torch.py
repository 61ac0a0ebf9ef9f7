"""deepspeech.pytorch's DeepSpeech model as a plain torch.nn.Module.

Same modules, same forward, same state_dict keys as deepspeech_pytorch/model.py (V3), without
pytorch_lightning/omegaconf, so the offline tools (golden data, training) can build and run the
exact reference network. Only addition: `conv_channels` (upstream hard-codes 32).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

RNN_TYPES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
LABELS = ["_", "'", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
          "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", " "]


class SequenceWise(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        t, n = x.size(0), x.size(1)
        x = x.view(t * n, -1)
        x = self.module(x)
        return x.view(t, n, -1)


class MaskConv(nn.Module):
    def __init__(self, seq_module):
        super().__init__()
        self.seq_module = seq_module

    def forward(self, x, lengths):
        for module in self.seq_module:
            x = module(x)
            mask = torch.zeros(x.size(), dtype=torch.bool, device=x.device)
            for i, length in enumerate(lengths):
                length = int(length)
                if mask[i].size(2) - length > 0:
                    mask[i].narrow(2, length, mask[i].size(2) - length).fill_(1)
            x = x.masked_fill(mask, 0)
        return x, lengths


class BatchRNN(nn.Module):
    def __init__(self, input_size, hidden_size, rnn_type=nn.LSTM, bidirectional=False,
                 batch_norm=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.batch_norm = SequenceWise(nn.BatchNorm1d(input_size)) if batch_norm else None
        self.rnn = rnn_type(input_size=input_size, hidden_size=hidden_size,
                            bidirectional=bidirectional, bias=True)

    def forward(self, x, output_lengths, h=None):
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = nn.utils.rnn.pack_padded_sequence(x, output_lengths, enforce_sorted=False)
        x, h = self.rnn(x, h)
        x, _ = nn.utils.rnn.pad_packed_sequence(x)
        if self.bidirectional:
            x = x.view(x.size(0), x.size(1), 2, -1).sum(2).view(x.size(0), x.size(1), -1)
        return x, h


class Lookahead(nn.Module):
    def __init__(self, n_features, context):
        super().__init__()
        assert context > 0
        self.context = context
        self.n_features = n_features
        self.pad = (0, self.context - 1)
        self.conv = nn.Conv1d(n_features, n_features, kernel_size=context, stride=1,
                              groups=n_features, padding=0, bias=False)

    def forward(self, x):
        x = x.transpose(0, 1).transpose(1, 2)
        x = F.pad(x, pad=self.pad, value=0)
        x = self.conv(x)
        return x.transpose(1, 2).transpose(0, 1).contiguous()


class DeepSpeech(nn.Module):
    def __init__(self, labels=LABELS, rnn_type="lstm", hidden_size=1024, hidden_layers=5,
                 bidirectional=True, lookahead_context=20, sample_rate=16000, window_size=0.02,
                 conv_channels=32):
        super().__init__()
        self.labels = list(labels)
        self.bidirectional = bidirectional
        self.hparams = dict(rnn_type=rnn_type, hidden_size=hidden_size,
                            hidden_layers=hidden_layers, bidirectional=bidirectional,
                            lookahead_context=lookahead_context, sample_rate=sample_rate,
                            window_size=window_size, conv_channels=conv_channels)
        c = conv_channels
        self.conv = MaskConv(nn.Sequential(
            nn.Conv2d(1, c, kernel_size=(41, 11), stride=(2, 2), padding=(20, 5)),
            nn.BatchNorm2d(c),
            nn.Hardtanh(0, 20, inplace=True),
            nn.Conv2d(c, c, kernel_size=(21, 11), stride=(2, 1), padding=(10, 5)),
            nn.BatchNorm2d(c),
            nn.Hardtanh(0, 20, inplace=True),
        ))
        rnn_input_size = int(math.floor((sample_rate * window_size) / 2) + 1)
        rnn_input_size = int(math.floor(rnn_input_size + 2 * 20 - 41) / 2 + 1)
        rnn_input_size = int(math.floor(rnn_input_size + 2 * 10 - 21) / 2 + 1)
        rnn_input_size *= c
        cell = RNN_TYPES[rnn_type]
        self.rnns = nn.Sequential(
            BatchRNN(rnn_input_size, hidden_size, cell, bidirectional, batch_norm=False),
            *(BatchRNN(hidden_size, hidden_size, cell, bidirectional)
              for _ in range(hidden_layers - 1)))
        self.lookahead = nn.Sequential(
            Lookahead(hidden_size, context=lookahead_context),
            nn.Hardtanh(0, 20, inplace=True)) if not bidirectional else None
        self.fc = nn.Sequential(SequenceWise(nn.Sequential(
            nn.BatchNorm1d(hidden_size),
            nn.Linear(hidden_size, len(self.labels), bias=False))))

    def get_seq_lens(self, input_length):
        seq_len = input_length
        for m in self.conv.modules():
            if type(m) == nn.modules.conv.Conv2d:
                seq_len = ((seq_len + 2 * m.padding[1] - m.dilation[1] * (m.kernel_size[1] - 1)
                            - 1) // m.stride[1] + 1)
        return seq_len.int()

    def forward(self, x, lengths, hs=None, softmax=True):
        """x: [N, 1, F, T] spectrogram; returns (probs [N, T', labels], output_lengths, hs).
        softmax=False returns the logits (training)."""
        lengths = lengths.cpu().int()
        output_lengths = self.get_seq_lens(lengths)
        x, _ = self.conv(x, output_lengths)
        sizes = x.size()
        x = x.view(sizes[0], sizes[1] * sizes[2], sizes[3])
        x = x.transpose(1, 2).transpose(0, 1).contiguous()
        if hs is None:
            hs = [None] * len(self.rnns)
        new_hs = []
        for i, rnn in enumerate(self.rnns):
            x, h = rnn(x, output_lengths, hs[i])
            new_hs.append(h)
        if not self.bidirectional:
            x = self.lookahead(x)
        x = self.fc(x)
        x = x.transpose(0, 1)
        if softmax:
            x = F.softmax(x, dim=-1)
        return x, output_lengths, new_hs
