"""Join Parquet files of one schema into one file by copying their row groups' bytes.

The final step used to read every pass-2 part back and encode it again, alone on one core
(1.7 s of a 26 s run at 200k conversations). The parts are now written by the workers with
the outputs' own options, and joining them is a copy: each part's body (its column chunks,
and any page indexes and bloom filters) goes into the new file unchanged, and one footer
lists all their row groups with every file offset moved by where the body landed.

The footer is Thrift's compact protocol (parquet.thrift's FileMetaData). It is decoded here
into a generic tree that keeps every field, known or not, and encoded back byte for byte;
only the offsets, the row groups' ordinals and the row count change.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from forge.errors import ForgeError

MAGIC = b"PAR1"

# compact protocol types
_TRUE, _FALSE, _I8, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)

# field ids in parquet.thrift
_FMD_NUM_ROWS, _FMD_ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_PATH, _CC_FILE_OFFSET, _CC_META = 1, 2, 3
_CC_OFFSETS = (4, 6)  # offset_index_offset, column_index_offset
_CMD_OFFSETS = (9, 10, 11, 14)  # data, index and dictionary page offsets; bloom filter offset

Struct = list  # [[field id, type, value], ...] in the order read


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def byte(self) -> int:
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if b < 0x80:
                return out
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("truncated")
        self.pos += n
        return out

    def value(self, t: int) -> Any:
        if t in (_TRUE, _FALSE):  # a list element: one byte
            return self.byte() == _TRUE
        if t == _I8:
            return self.byte()
        if t in (_I16, _I32, _I64):
            return self.zigzag()
        if t == _DOUBLE:
            return self.take(8)
        if t == _BINARY:
            return self.take(self.varint())
        if t in (_LIST, _SET):
            head = self.byte()
            n, et = head >> 4, head & 0x0F
            if n == 15:
                n = self.varint()
            return et, [self.value(et) for _ in range(n)]
        if t == _MAP:
            n = self.varint()
            kv = self.byte() if n else 0
            kt, vt = kv >> 4, kv & 0x0F
            return kt, vt, [(self.value(kt), self.value(vt)) for _ in range(n)]
        if t == _STRUCT:
            return self.struct()
        raise ValueError(f"unknown compact type {t}")

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            t, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            # a boolean field carries its value in its type
            fields.append([fid, t, None if t in (_TRUE, _FALSE) else self.value(t)])
            last = fid


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, t: int, v: Any) -> None:
        if t in (_TRUE, _FALSE):
            self.out.append(_TRUE if v else _FALSE)
        elif t == _I8:
            self.out.append(v)
        elif t in (_I16, _I32, _I64):
            self.zigzag(v)
        elif t == _DOUBLE:
            self.out += v
        elif t == _BINARY:
            self.varint(len(v))
            self.out += v
        elif t in (_LIST, _SET):
            et, items = v
            if len(items) < 15:
                self.out.append(len(items) << 4 | et)
            else:
                self.out.append(0xF0 | et)
                self.varint(len(items))
            for item in items:
                self.value(et, item)
        elif t == _MAP:
            kt, vt, pairs = v
            self.varint(len(pairs))
            if pairs:
                self.out.append(kt << 4 | vt)
            for k, val in pairs:
                self.value(kt, k)
                self.value(vt, val)
        elif t == _STRUCT:
            self.struct(v)
        else:
            raise ValueError(f"unknown compact type {t}")

    def struct(self, fields: Struct) -> None:
        last = 0
        for fid, t, v in fields:
            if 0 < fid - last <= 15:
                self.out.append((fid - last) << 4 | t)
            else:
                self.out.append(t)
                self.zigzag(fid)
            if t not in (_TRUE, _FALSE):
                self.value(t, v)
            last = fid
        self.out.append(0)


def decode(buf: bytes) -> Struct:
    """A compact-protocol struct as a tree of [field id, type, value] lists."""
    return _Reader(buf).struct()


def encode(fields: Struct) -> bytes:
    w = _Writer()
    w.struct(fields)
    return bytes(w.out)


def _get(fields: Struct, fid: int) -> list | None:
    return next((f for f in fields if f[0] == fid), None)


def _footer(path: Path) -> tuple[bytes, int]:
    """(the footer's bytes, where the footer starts) of a Parquet file."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size < 12:
            raise ForgeError(f"{path}: not a Parquet file ({size} bytes)", "write it again")
        f.seek(size - 8)
        tail = f.read(8)
        (n,) = struct.unpack("<I", tail[:4])
        f.seek(0)
        if tail[4:] != MAGIC or f.read(4) != MAGIC or n > size - 12:
            raise ForgeError(
                f"{path}: not a plain Parquet file (encrypted, or cut short)", "write it again"
            )
        f.seek(size - 8 - n)
        return f.read(n), size - 8 - n


def _shift(fields: Struct | None, fids: tuple[int, ...], delta: int) -> None:
    for f in fields or ():
        if f[0] in fids and f[2] >= len(MAGIC):  # 0: not set
            f[2] += delta


def join(parts: list[Path], target: Path) -> int:
    """Write the row groups of ``parts`` (in order, one schema) into ``target``; rows written.

    ``target`` is written in place; callers write to a temporary name and rename it."""
    if not parts:
        raise ValueError("nothing to join")
    metas = []
    for p in parts:
        raw, end = _footer(p)
        try:
            meta = decode(raw)
        except (IndexError, ValueError) as e:
            raise ForgeError(
                f"{p}: its Parquet footer cannot be read ({e})", "write it again"
            ) from e
        metas.append((p, meta, end))
    first = metas[0][1]
    same = [f for f in first if f[0] not in (_FMD_NUM_ROWS, _FMD_ROW_GROUPS)]
    groups: list = []
    rows = 0
    with open(target, "wb") as out:
        out.write(MAGIC)
        for p, meta, end in metas:
            if [f for f in meta if f[0] not in (_FMD_NUM_ROWS, _FMD_ROW_GROUPS)] != same:
                raise ForgeError(
                    f"{p}: another schema or writer than {metas[0][0]}",
                    "only parts written with one schema and the same options can be joined",
                )
            delta = out.tell() - len(MAGIC)
            _copy(p, out, len(MAGIC), end - len(MAGIC))
            rg = _get(meta, _FMD_ROW_GROUPS)
            for group in rg[2][1] if rg else ():
                _shift(group, (_RG_FILE_OFFSET,), delta)
                for chunk in _get(group, _RG_COLUMNS)[2][1]:
                    if _get(chunk, _CC_FILE_PATH) is not None:
                        raise ForgeError(f"{p}: column chunks in other files", "write it again")
                    _shift(chunk, (_CC_FILE_OFFSET, *_CC_OFFSETS), delta)
                    cmd = _get(chunk, _CC_META)
                    _shift(cmd and cmd[2], _CMD_OFFSETS, delta)
                ordinal = _get(group, _RG_ORDINAL)
                if ordinal is not None and len(groups) <= 0x7FFF:
                    ordinal[2] = len(groups)
                elif ordinal is not None:  # an i16, and optional: left out past 32,767
                    group.remove(ordinal)
                groups.append(group)
            rows += _get(meta, _FMD_NUM_ROWS)[2]
        meta = []
        for f in first:
            if f[0] == _FMD_NUM_ROWS:
                f = [f[0], f[1], rows]
            elif f[0] == _FMD_ROW_GROUPS:
                f = [f[0], f[1], (_STRUCT, groups)]
            meta.append(f)
        footer = encode(meta)
        out.write(footer)
        out.write(struct.pack("<I", len(footer)))
        out.write(MAGIC)
    return rows


def _copy(path: Path, dst: Any, start: int, n: int) -> None:
    """Append bytes [start, start + n) of ``path`` to ``dst``."""
    dst.flush()
    pos = dst.tell()
    with open(path, "rb") as src:
        try:  # in the kernel, where the system has it; explicit offsets move neither file
            while n:
                got = os.copy_file_range(src.fileno(), dst.fileno(), n, start, pos)
                if not got:
                    break
                start, pos, n = start + got, pos + got, n - got
        except (AttributeError, OSError):
            pass
        dst.seek(pos)
        src.seek(start)
        while n:
            block = src.read(min(n, 1 << 22))
            if not block:
                raise ForgeError(f"{path}: shorter than its footer says", "write it again")
            dst.write(block)
            n -= len(block)
