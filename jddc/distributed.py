"""Joining a multi-process JAX run: `jax.distributed` from flags, environment or the TPU VM.

Each host (or each GPU, or each local test process) runs the same command; JAX then sees
the devices of every process (`jax.devices()`), the mesh spans all of them, and every
process feeds its own slice of each global batch. How a process learns its place:

  explicit      `--coordinator_address=HOST:PORT --num_processes=N --process_id=I`, or the
                environment variables JDDC_COORDINATOR, JDDC_NUM_PROCESSES, JDDC_PROCESS_ID
                (GPU clusters, local multi-process tests);
  TPU VM        nothing to pass: on a Cloud TPU VM with libtpu, `jax.distributed.initialize()`
                without arguments reads the slice's workers from the TPU metadata;
  auto          JDDC_DISTRIBUTED=auto: `jax.distributed.initialize()` without arguments, letting
                JAX detect SLURM, Open MPI or Kubernetes;
  otherwise     one process, nothing initialised.

Must run before anything touches a JAX backend (device queries, arrays, jit).
"""

from __future__ import annotations

import dataclasses
import glob
import importlib.util
import os
from typing import Optional

ENV_COORDINATOR = "JDDC_COORDINATOR"
ENV_NUM_PROCESSES = "JDDC_NUM_PROCESSES"
ENV_PROCESS_ID = "JDDC_PROCESS_ID"
ENV_MODE = "JDDC_DISTRIBUTED"


@dataclasses.dataclass(frozen=True)
class Cluster:
  """How this process joins: `mode` is "explicit", "tpu", "auto" or "single"."""
  mode: str
  coordinator_address: Optional[str] = None
  num_processes: Optional[int] = None
  process_id: Optional[int] = None


def on_tpu_vm() -> bool:
  """A Cloud TPU VM: libtpu is installed and the host has TPU chips (/dev/accel* or vfio)."""
  if importlib.util.find_spec("libtpu") is None:
    return False
  return bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def resolve(coordinator_address: Optional[str] = None, num_processes: Optional[int] = None,
            process_id: Optional[int] = None, environ: Optional[dict] = None) -> Cluster:
  """Flags first, then the JDDC_* environment, then a TPU VM, then JDDC_DISTRIBUTED=auto."""
  env = os.environ if environ is None else environ
  address = coordinator_address or env.get(ENV_COORDINATOR) or None
  count = num_processes if num_processes is not None else env.get(ENV_NUM_PROCESSES)
  index = process_id if process_id is not None else env.get(ENV_PROCESS_ID)
  given = [name for name, v in (("coordinator address", address), ("number of processes", count),
                                ("process id", index)) if v not in (None, "")]
  if given:
    if len(given) < 3:
      raise ValueError(f"a multi-process run needs a coordinator address, a number of processes and a process "
                       f"id (flags --coordinator_address/--num_processes/--process_id or {ENV_COORDINATOR}/"
                       f"{ENV_NUM_PROCESSES}/{ENV_PROCESS_ID}); got only {', '.join(given)}")
    count, index = int(count), int(index)
    if count < 1 or not 0 <= index < count:
      raise ValueError(f"process id {index} is not in [0, {count})")
    return Cluster("explicit", address, count, index)
  if env.get(ENV_MODE, "") == "off":
    return Cluster("single")
  if on_tpu_vm():
    return Cluster("tpu")
  if env.get(ENV_MODE, "") == "auto":
    return Cluster("auto")
  return Cluster("single")


def initialize(cluster: Cluster) -> None:
  """Starts `jax.distributed` for `cluster` (nothing for "single")."""
  if cluster.mode == "single":
    return
  import jax

  # Collectives between CPU devices of different processes (local tests, CPU clusters).
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if cluster.mode == "explicit":
    jax.distributed.initialize(coordinator_address=cluster.coordinator_address,
                               num_processes=cluster.num_processes, process_id=cluster.process_id)
  else:
    jax.distributed.initialize()
