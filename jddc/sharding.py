"""Device meshes and logical-axis sharding rules.

Mesh: three named axes, `("data", "fsdp", "model")`, all of Auto type (plain GSPMD;
`jax.make_mesh`'s default Explicit axes break an ordinary train step). One device is a
1 x 1 x 1 mesh; the same code runs on a 2-core CPU and a TPU pod.

Logical axes: every parameter of our models names its dimensions with a small set of
logical names (`LOGICAL_AXES`), stored in the variable's `out_sharding` metadata with
`eager_sharding=False` (see `jddc.models.layers.param`). With that flag Flax treats the
names as metadata only, so a model builds with no mesh set (tests, CPU users), under
`nnx.eval_shape`, and outside any `jax.set_mesh`. Shardings are applied by us: rules
map logical names to mesh axes, `state_shardings` turns an (abstract) state into a tree
of `NamedSharding`s, and `init_sharded` initialises a model straight into them under
`jax.jit(..., out_shardings=...)`. Plain `nnx.eval_shape` drops shardings (flax issue
5110); `abstract_state` attaches them explicitly, ready for an Orbax restore.

Rule semantics: a logical name maps to a mesh axis, a tuple of mesh axes, or None
(replicated). Per array, a mesh axis is used at most once (a later dimension that asks
for an axis already taken loses it), mesh axes of size 1 or missing from the mesh are
dropped, and, when the shape is known, so are axes that do not divide the dimension.
A name that is not in the rules is an error (a typo would silently replicate).

Where the rules come from: a run's are `config.mesh.rules` (`rules_from_config`; the
defaults in `configs/common.py` are `DEFAULT_RULES`), one comma-separated string of mesh
axes per logical axis ("" = replicated), e.g. `--config.mesh.rules.embed=` to stop fsdp
splitting the embedding dimension. The engine passes them to `state_shardings` and the
batch layout, and makes them current (`use_rules`) while it traces the model, so that
`constrain` inside a model, called without rules, reads them; outside `use_rules` it
reads `DEFAULT_RULES`. They change placement only, never values (a checkpoint restores
under any rules), so they are a runtime key of a run folder, with the mesh.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

MESH_AXES = ("data", "fsdp", "model")
MeshAxes = Union[None, str, tuple[str, ...]]
Rules = tuple[tuple[str, MeshAxes], ...]

LOGICAL_AXES = ("batch", "length", "embed", "vocab", "heads", "kv", "mlp")
DEFAULT_RULES: Rules = (
    ("batch", ("data", "fsdp")),
    ("length", None),
    ("embed", "fsdp"),
    ("vocab", "model"),
    ("heads", "model"),
    ("kv", None),
    ("mlp", "model"),
)
_CURRENT_RULES: contextvars.ContextVar[Rules] = contextvars.ContextVar("jddc_sharding_rules", default=DEFAULT_RULES)


def rules_from_config(mesh_config: Mapping[str, Any]) -> Rules:
  """`config.mesh` (its `rules`: logical axis -> "axis[,axis...]", "" = replicated) -> `Rules`.

  A `mesh` section without `rules` (a run folder of older code) gives `DEFAULT_RULES`.

  Raises:
    ValueError: a logical axis is missing or unknown, or names a mesh axis that does not exist.
  """
  given = mesh_config.get("rules") if hasattr(mesh_config, "get") else None
  if given is None:
    return DEFAULT_RULES
  given = dict(given)
  unknown, missing = sorted(set(given) - set(LOGICAL_AXES)), [a for a in LOGICAL_AXES if a not in given]
  if unknown or missing:
    raise ValueError(f"config.mesh.rules: unknown logical axes {unknown}, missing {missing}; "
                     f"expected exactly {list(LOGICAL_AXES)}")
  rules = []
  for logical in LOGICAL_AXES:
    axes = tuple(a.strip() for a in str(given[logical]).split(",") if a.strip())
    bad = [a for a in axes if a not in MESH_AXES]
    if bad:
      raise ValueError(f"config.mesh.rules.{logical}: unknown mesh axes {bad}; the mesh has {list(MESH_AXES)}")
    rules.append((logical, None if not axes else axes[0] if len(axes) == 1 else axes))
  return tuple(rules)


def mesh_shape(mesh_config: Mapping[str, Any]) -> dict[str, int]:
  """The axis sizes of `config.mesh` (for `make_mesh`), without its `rules`."""
  return {k: int(v) for k, v in dict(mesh_config).items() if k != "rules"}


@contextlib.contextmanager
def use_rules(rules: Rules):
  """Makes `rules` the ones `constrain` reads when called without rules (at trace time)."""
  token = _CURRENT_RULES.set(tuple(rules))
  try:
    yield
  finally:
    _CURRENT_RULES.reset(token)


def current_rules() -> Rules:
  """The rules of the innermost `use_rules`, else `DEFAULT_RULES`."""
  return _CURRENT_RULES.get()


def batch_axes(rules: Rules) -> tuple[str, ...]:
  """The mesh axes the `batch` logical axis splits over."""
  return _mesh_axes("batch", rules)


def make_mesh(axes: Optional[Mapping[str, int]] = None, devices: Optional[Sequence[Any]] = None) -> Mesh:
  """A `("data", "fsdp", "model")` mesh of Auto axes over `devices` (default: all).

  Args:
    axes: sizes by axis name; missing axes are 1, one axis may be -1 ("the rest").
      None: every device on `data`.
    devices: default `jax.devices()`.
  """
  devices = list(jax.devices() if devices is None else devices)
  axes = dict({"data": -1} if axes is None else axes)
  unknown = set(axes) - set(MESH_AXES)
  if unknown:
    raise ValueError(f"unknown mesh axes {sorted(unknown)}; expected a subset of {MESH_AXES}")
  sizes = [int(axes.get(name, 1)) for name in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"at most one mesh axis may be -1, got {axes}")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if known <= 0 or len(devices) % known:
      raise ValueError(f"mesh {axes} does not divide {len(devices)} devices")
    sizes[sizes.index(-1)] = len(devices) // known
  if math.prod(sizes) != len(devices):
    raise ValueError(f"mesh {dict(zip(MESH_AXES, sizes))} needs {math.prod(sizes)} devices, "
                     f"have {len(devices)}")
  return jax.make_mesh(tuple(sizes), MESH_AXES, axis_types=(AxisType.Auto,) * len(MESH_AXES),
                       devices=devices)


def _mesh_axes(name: str, rules: Rules) -> tuple[str, ...]:
  for logical, mesh_axes in rules:
    if logical == name:
      if mesh_axes is None:
        return ()
      return (mesh_axes,) if isinstance(mesh_axes, str) else tuple(mesh_axes)
  raise ValueError(f"logical axis {name!r} has no rule; rules cover {[r[0] for r in rules]}")


def logical_to_spec(names: Sequence[Optional[str]], mesh: Mesh | jax.sharding.AbstractMesh,
                    rules: Rules = DEFAULT_RULES, shape: Optional[Sequence[int]] = None) -> PartitionSpec:
  """Logical names of an array's dimensions (None: replicated) -> a `PartitionSpec` on `mesh`."""
  if shape is not None and len(shape) != len(names):
    raise ValueError(f"logical axes {tuple(names)} do not match shape {tuple(shape)}")
  used: set[str] = set()
  spec = []
  for dim, name in enumerate(names):
    kept, size = [], 1
    for axis in (() if name is None else _mesh_axes(name, rules)):
      n = mesh.shape.get(axis, 1)
      if axis in used or n == 1 or (shape is not None and shape[dim] % (size * n)):
        continue
      kept.append(axis)
      size *= n
    used.update(kept)
    spec.append(None if not kept else kept[0] if len(kept) == 1 else tuple(kept))
  return PartitionSpec(*spec)


def constrain(x: jax.Array, names: Sequence[Optional[str]], rules: Optional[Rules] = None) -> jax.Array:
  """An activation laid out by logical names on the mesh of `jax.set_mesh`; unchanged without one.

  `rules` None: `current_rules()` (the run's, inside the engine's `use_rules`).

  Parameters sharded over `fsdp` on their `embed` dimension would otherwise pull the
  activations' layout their way and GSPMD may replicate the batch (temporaries x5 on a
  (fsdp 8) mesh, `jddc.aot`): models pin their hidden states to ("batch", "length", None).
  """
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty:
    return x
  return jax.lax.with_sharding_constraint(x, logical_to_spec(names, mesh, rules or current_rules(), x.shape))


def fetch(x: jax.Array):
  """The whole value of a (possibly multi-process) array as numpy, in every process."""
  if getattr(x, "is_fully_addressable", True):
    return np.asarray(x)
  from jax.experimental import multihost_utils
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def _is_names(x: Any) -> bool:
  return isinstance(x, tuple) and all(n is None or isinstance(n, str) for n in x)


def logical_to_sharding(logical_tree: Any, mesh: Mesh, rules: Rules = DEFAULT_RULES) -> Any:
  """A tree whose leaves are tuples of logical names -> the same tree of `NamedSharding`s.

  No divisibility check (shapes are unknown here): e.g. `("batch", "length")` for a
  batch whose size is a multiple of data x fsdp.
  """
  return jax.tree.map(lambda names: NamedSharding(mesh, logical_to_spec(names, mesh, rules)),
                      logical_tree, is_leaf=_is_names)


def _variable_sharding(v: Any, mesh: Mesh, rules: Rules) -> NamedSharding:
  names = v.get_metadata().get("out_sharding") if isinstance(v, nnx.Variable) else None
  shape = getattr(v, "shape", None)
  if not names:
    return NamedSharding(mesh, PartitionSpec())
  return NamedSharding(mesh, logical_to_spec(names, mesh, rules, shape))


def state_shardings(abstract_state: Any, mesh: Mesh, rules: Rules = DEFAULT_RULES) -> Any:
  """`NamedSharding`s of an NNX state (abstract from `nnx.eval_shape`, or concrete).

  Each `nnx.Variable` is mapped, through `rules`, from its logical `out_sharding` names
  (replicated when it has none) and keeps its metadata, so the result can serve as
  `out_shardings` / `in_shardings` for that state. Plain array leaves are replicated.
  """
  def f(v):
    sharding = _variable_sharding(v, mesh, rules)
    return v.replace(sharding) if isinstance(v, nnx.Variable) else sharding
  return jax.tree.map(f, abstract_state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def abstract_state(init_fn: Callable[[], Any], mesh: Mesh, rules: Rules = DEFAULT_RULES):
  """(graphdef, state of `jax.ShapeDtypeStruct`s carrying their `NamedSharding`s), no allocation.

  `init_fn` builds the module (or anything NNX can split) and creates its own `nnx.Rngs`.
  """
  graphdef, state = nnx.split(nnx.eval_shape(init_fn))
  shardings = state_shardings(state, mesh, rules)
  return graphdef, jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                                state, shardings)


def init_sharded(init_fn: Callable[[], Any], mesh: Mesh, rules: Rules = DEFAULT_RULES) -> Any:
  """Builds `init_fn()` with every variable created directly in its sharding on `mesh`.

  Returns the module, whose arrays are global `jax.Array`s laid out by `rules`.
  """
  graphdef, state = nnx.split(nnx.eval_shape(init_fn))
  shardings = state_shardings(state, mesh, rules)

  @functools.partial(jax.jit, out_shardings=shardings)
  def init():
    return nnx.split(init_fn())[1]

  return nnx.merge(graphdef, init())
