"""The HF engine's KV cache as continuous batching needs it (rankinv.validate.engines.hf):
layers whose key/value buffers grow in place (:func:`to_buffered`), new rows merged into a
running batch with left padding (:func:`merge`), and the common left padding trimmed when
rows leave (:func:`trim_left`). transformers is imported only when a model is."""

from __future__ import annotations

import functools


def to_buffered(cache) -> bool:
    """Swap a fresh DynamicCache's layers for :class:`_BufferedLayer` (same tensors, room
    to grow in place); False when the cache has other layer kinds (sliding windows...),
    which then run as static batches without refill."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if not layers or not all(type(la) is DynamicLayer for la in layers):
        return False
    cls = _buffered_layer_class()
    cache.layers = [cls.of(la) for la in layers]
    return True


@functools.cache
def _buffered_layer_class():
    """Built on first use: transformers is imported only when a model is."""
    from transformers.cache_utils import DynamicLayer

    class BufferedLayer(DynamicLayer):
        """A DynamicLayer whose keys/values live in a buffer with spare columns, so a
        decode step writes one column in place instead of copying the whole cache
        (DynamicLayer concatenates). ``keys``/``values`` are views of the filled part."""

        GROW = 64

        @classmethod
        def of(cls, layer):
            new = cls()
            new.device = layer.keys.device
            new.is_initialized = True
            new.set(layer.keys, layer.values)
            return new

        def set(self, keys, values):
            import torch

            b, h, n, d = keys.shape
            self._k = torch.empty((b, h, n + self.GROW, d), dtype=keys.dtype, device=keys.device)
            self._v = torch.empty_like(self._k)
            self._k[:, :, :n] = keys
            self._v[:, :, :n] = values
            self._n = n
            self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]

        def update(self, key_states, value_states, *args, **kwargs):
            q = key_states.shape[-2]
            if self._n + q > self._k.shape[-2]:
                self.set(self.keys, self.values)
            self._k[:, :, self._n : self._n + q] = key_states
            self._v[:, :, self._n : self._n + q] = value_states
            self._n += q
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]
            return self.keys, self.values

        def batch_select_indices(self, indices):
            self._k, self._v = self._k[indices], self._v[indices]
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]

    return BufferedLayer


def _all_buffered(cache) -> bool:
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(hasattr(la, "_k") for la in layers)


def merge(cache, mask, new_cache, new_mask):
    """Append new rows to a left-padded batch: pad the shorter side on the left."""
    import torch

    la, lb = mask.shape[1], new_mask.shape[1]
    width = max(la, lb)

    def lpad(x, n, dim):
        if n == 0:
            return x
        shape = list(x.shape)
        shape[dim] = n
        return torch.cat([torch.zeros(shape, dtype=x.dtype, device=x.device), x], dim)

    for a, b in zip(cache.layers, new_cache.layers, strict=True):
        a.set(
            torch.cat([lpad(a.keys, width - la, -2), lpad(b.keys, width - lb, -2)]),
            torch.cat([lpad(a.values, width - la, -2), lpad(b.values, width - lb, -2)]),
        )
    return torch.cat([lpad(mask, width - la, 1), lpad(new_mask, width - lb, 1)])


def trim_left(cache, mask, slack: int = 16):
    """Drop leading columns that are padding in every row (left after rows leave)."""
    lead = int((mask.sum(0) == 0).long().cumprod(0).sum())
    if lead < slack or not _all_buffered(cache):
        return mask
    for la in cache.layers:
        la.set(la.keys[..., lead:, :], la.values[..., lead:, :])
    return mask[:, lead:]
