"""Files that exist only when complete, caches built once under a lock, and content keys.

Every file or folder the project writes that a later run reads (results, predictions,
feature tables, tokenizers, corpora, shards) goes through here:

    atomic_write_text(path, text)          # readers see the old file or the new one, never half
    write_json(path, obj)                  # the same, for JSON (sorted keys, UTF-8)
    with atomic_dir(final) as tmp: ...     # build a folder in `tmp`; renamed to `final` on success
    with file_lock(path): ...              # one process at a time (fcntl; local filesystems)
    content_key(config_part, code_fingerprint(module), data_hash)   # what a cache's name is made of

A kill at any point leaves either the complete result or nothing under the final name,
plus at most a `*.tmp-*` leftover that the next writer ignores and sweeps.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib
import json
import os
import shutil
from typing import Any, Iterator, Union

TMP_MARK = ".tmp-"


def _tmp_name(path: str) -> str:
  folder, name = os.path.split(os.path.abspath(path))
  return os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}-{os.urandom(4).hex()}")


def _fsync_dir(folder: str) -> None:
  try:
    fd = os.open(folder, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def atomic_write_bytes(path: str, data: bytes) -> None:
  """Writes `data` to `path` through a temporary file in the same folder and a rename."""
  with atomic_file(path, "wb") as f:
    f.write(data)


def atomic_write_text(path: str, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def json_text(obj: Any) -> str:
  return json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def write_json(path: str, obj: Any) -> None:
  """`obj` as JSON at `path`, atomically."""
  atomic_write_text(path, json_text(obj))


def read_json(path: str) -> Any:
  """The JSON at `path`; a truncated or corrupt file is a ValueError naming the path."""
  with open(path, encoding="utf-8") as f:
    text = f.read()
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from e


@contextlib.contextmanager
def atomic_file(path: str, mode: str = "w", **kwargs) -> Iterator[Any]:
  """An open temporary file that becomes `path` when the block ends without an exception."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  tmp = _tmp_name(path)
  try:
    with open(tmp, mode, **kwargs) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise
  _fsync_dir(folder)


@contextlib.contextmanager
def atomic_dir(path: str, replace: bool = False) -> Iterator[str]:
  """Yields an empty temporary folder beside `path`; on success it is renamed to `path`.

  With `replace`, an existing `path` is swapped out (and deleted); without, an existing
  `path` (another process finished first) is kept and the new folder discarded.
  """
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)
  tmp = _tmp_name(path)
  os.makedirs(tmp)
  try:
    yield tmp
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  if os.path.lexists(path):
    if not replace:
      shutil.rmtree(tmp, ignore_errors=True)
      return
    old = _tmp_name(path)
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
  else:
    try:
      os.replace(tmp, path)
    except OSError as e:  # a concurrent writer renamed its folder first
      if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
        raise
      shutil.rmtree(tmp, ignore_errors=True)
  _fsync_dir(parent)


def sweep_leftovers(folder: str, name: str = "") -> int:
  """Deletes `*.tmp-*` leftovers of killed writers in `folder` (call under the folder's lock);
  with `name`, only the leftovers of writers of `folder/name` (call under that entry's lock)."""
  removed = 0
  if not os.path.isdir(folder):
    return 0
  prefix = f".{name}{TMP_MARK}" if name else "."
  for entry in os.listdir(folder):
    if TMP_MARK in entry and entry.startswith(prefix):
      full = os.path.join(folder, entry)
      if os.path.isdir(full) and not os.path.islink(full):
        shutil.rmtree(full, ignore_errors=True)
      else:
        with contextlib.suppress(FileNotFoundError):
          os.remove(full)
      removed += 1
  return removed


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
  """Holds an exclusive lock on `path + ".lock"` (created if missing) for the block.

  The lock is the operating system's (`fcntl.flock`): a killed holder releases it, so a
  kill never leaves a stale lock behind.
  """
  lock_path = path + ".lock"
  os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
  fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield
  finally:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def content_key(*parts: Any, length: int = 16) -> str:
  """A short hash of JSON-serialisable `parts` (config values, code fingerprints, data hashes)."""
  text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def code_fingerprint(*modules: str, length: int = 16) -> str:
  """A hash of the source files of the named modules (a package: every `.py` under it).

    code_fingerprint("jddc.data.release", "jddc.data.examples")

  A cache whose key holds this is rebuilt when the code that made its content changes.
  """
  digest = hashlib.sha256()
  for name in sorted(set(modules)):
    module = importlib.import_module(name)
    path = os.path.abspath(module.__file__)
    if os.path.basename(path) == "__init__.py":
      folder = os.path.dirname(path)
      files = [os.path.join(d, f) for d, _, fs in sorted(os.walk(folder)) for f in sorted(fs) if f.endswith(".py")]
    else:
      files = [path]
    for file in files:
      digest.update(name.encode() + b"\0" + os.path.relpath(file, os.path.dirname(path)).encode() + b"\0")
      with open(file, "rb") as f:
        digest.update(f.read())
  return digest.hexdigest()[:length]


def file_digest(paths: Union[str, list[str]], root: str = "") -> str:
  """sha256 (hex, 16) of files' names (relative to `root`) and bytes, in the given order."""
  digest = hashlib.sha256()
  for path in [paths] if isinstance(paths, str) else paths:
    digest.update((os.path.relpath(path, root) if root else os.path.basename(path)).encode() + b"\0")
    with open(path, "rb") as f:
      for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
  return digest.hexdigest()[:16]

