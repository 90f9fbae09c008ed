"""Generates the embedded JDDC-2.1-shaped corpus and writes it in the release layout.

Sessions are drawn independently (session i from the seed sequence [seed, i]), so the
output is byte-identical for a seed whatever the number of worker processes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
from typing import Optional

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from jddc import faults, fsutil
from jddc.data import release, schema
from jddc.data.synth import catalogue as catalogue_lib
from jddc.data.synth import images, scenarios, screen_scenarios
from jddc.data.synth.script import Script

SIZES = {"tiny": 240, "default": 3000, "large": 20000}
ANNOTATED_FRACTION = 1 / 3
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
IMAGE_SIZE = 256
META_FILE = "synth_meta.jsonl"
INFO_FILE = "corpus_info.json"
GENERATOR_VERSION = 3  # 3: 2 with no word said twice (物流物流异常, 我买的购买的) and commas between EDUs


@dataclasses.dataclass
class GeneratedSession:
  session: schema.Session
  image_bytes: dict[str, bytes]  # file name -> JPEG
  image_categories: list[schema.ImageCategoryAnnotation]
  rewrite: schema.RewriteAnnotation
  discourse: schema.DiscourseAnnotation
  summary: schema.SummaryAnnotation
  meta: dict


def degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
  """A picture too blurred and dark to read: what makes a query impossible to rewrite."""
  small = image.resize((image.width // 6, image.height // 6), Image.BILINEAR).resize(image.size, Image.BILINEAR)
  small = small.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(3.0, 6.0))))
  return ImageEnhance.Brightness(small).enhance(float(rng.uniform(0.25, 0.45)))


def _session_id(seed: int, index: int) -> str:
  return hashlib.md5(f"jddc-synth-{seed}-{index}".encode()).hexdigest()


def generate_session(seed: int, index: int, split: str, catalogue: dict) -> GeneratedSession:
  """Draws session `index` of the corpus with seed `seed`."""
  rng = np.random.default_rng([seed, index])
  shop_type = schema.SHOP_TYPES[int(rng.integers(2))]
  weights = scenarios.PRIMARY_WEIGHTS[shop_type]
  names = list(weights)
  p = np.array([weights[n] for n in names], dtype=np.float64)
  primary = names[int(rng.choice(len(names), p=p / p.sum()))]
  degraded = bool(rng.random() < scenarios.P_DEGRADED)
  sku: Optional[catalogue_lib.Sku] = None
  s = Script(rng)
  if primary in scenarios.PRE_SALES:
    outcome = scenarios.pre_sales(s, primary, shop_type, catalogue, degraded)
  else:
    product = str(rng.choice(list(catalogue_lib.facts.PRODUCTS[shop_type])))
    sku = catalogue[product][int(rng.integers(len(catalogue[product])))]
    if primary in scenarios.AFTER_SALES_PHOTOS:
      outcome = scenarios.after_sales(s, primary, sku, degraded)
    else:
      outcome = screen_scenarios.screens(s, primary, sku, degraded)
  session_id = _session_id(seed, index)
  return _materialise(s, session_id, shop_type, sku.sku if sku else "", split, primary, outcome, rng)


def _materialise(s: Script, session_id: str, shop_type: str, sku: str, split: str, primary: str,
                 outcome: scenarios.Outcome, rng: np.random.Generator) -> GeneratedSession:
  """Draws the images and turns the script into release records."""
  file_names, image_bytes, image_meta = {}, {}, {}
  for slot, image in s.images.items():
    if not any(sl == slot for _, sl in s.image_messages):
      continue
    picture = images.draw_image(image.category, image.facts, rng, size=IMAGE_SIZE)
    if image.degraded:
      picture = degrade(picture, rng)
    data = images.encode_jpeg(picture, rng)
    name = hashlib.md5(data).hexdigest() + ".jpg"
    file_names[slot], image_bytes[name] = name, data
    image_meta[name] = {"category": image.category, "facts": image.facts, "degraded": image.degraded}
  slot_of_message = dict(s.image_messages)
  messages = []
  for m, edu_ids in enumerate(s.messages):
    first = s.edus[edu_ids[0]]
    if m in slot_of_message:
      messages.append(schema.Message(is_agent=False, image=file_names[slot_of_message[m]], sku=sku))
    else:
      messages.append(schema.Message(is_agent=first.is_agent, text=s.message_texts[m], sku=sku))
  session = schema.Session(session_id, shop_type, (sku,) if sku else (), tuple(messages), split)
  edus, links = [], []
  message_of_edu = {e: m for m, ids in enumerate(s.messages) for e in ids}
  for k, edu in enumerate(s.edus):
    m = message_of_edu[k]
    if edu.image_slot is not None:
      edus.append(schema.Edu(m, image=file_names[edu.image_slot]))
    else:
      edus.append(schema.Edu(m, text=edu.text))
    if edu.parent is not None:
      links.append(schema.DiscourseLink(edu.parent, k, edu.relation))
  assert len(links) == len(edus) - 1, "every EDU but the first needs a parent"
  categories = [schema.ImageCategoryAnnotation(session_id, m, file_names[slot], s.images[slot].category)
                for m, slot in s.image_messages]
  said = "".join(m.text for m in messages if not m.is_image)
  summary_facts = sorted(outcome.summary_uses)
  meta = {"session_id": session_id, "primary": primary, "images": image_meta, "replies": s.reply_meta,
          "query_kind": outcome.query_kind, "summary_facts": summary_facts,
          # facts the summary names whose word no message of the session says: only a picture shows them
          "summary_image_only_facts": [k for k in summary_facts if k.split(".")[0] in s.images
                                       and s.word(k) not in said]}
  return GeneratedSession(
      session=session, image_bytes=image_bytes, image_categories=categories,
      rewrite=schema.RewriteAnnotation(session_id, tuple(outcome.rewrite_messages), outcome.can_rewrite,
                                       outcome.rewrite),
      discourse=schema.DiscourseAnnotation(session_id, tuple(edus), tuple(links)),
      summary=schema.SummaryAnnotation(session_id, outcome.summary), meta=meta)


def assign_splits(num_sessions: int, seed: int) -> list[str]:
  """80/10/10 train/valid/test, by a seeded permutation."""
  order = np.random.default_rng([seed, 1]).permutation(num_sessions)
  n_train = int(round(num_sessions * SPLIT_FRACTIONS[0]))
  n_valid = int(round(num_sessions * SPLIT_FRACTIONS[1]))
  splits = [""] * num_sessions
  for rank, i in enumerate(order):
    splits[i] = "train" if rank < n_train else "valid" if rank < n_train + n_valid else "test"
  return splits


def annotated_subset(num_sessions: int, seed: int) -> set[int]:
  n = int(round(num_sessions * ANNOTATED_FRACTION))
  return set(np.random.default_rng([seed, 2]).choice(num_sessions, size=n, replace=False).tolist())


def _generate_range(args) -> list[GeneratedSession]:
  seed, indices, splits = args
  catalogue = catalogue_lib.build_catalogue(seed)
  return [generate_session(seed, i, splits[i], catalogue) for i in indices]


def check_replaceable(out_dir: str) -> None:
  """Refuses to replace `out_dir` unless it is missing, an empty folder, or a corpus this generator wrote."""
  if not os.path.lexists(out_dir):
    return
  if os.path.islink(out_dir) or not os.path.isdir(out_dir):
    raise FileExistsError(f"{out_dir} exists and is not a folder; not replacing it with a corpus")
  if not os.listdir(out_dir):
    return
  info_path = os.path.join(out_dir, INFO_FILE)
  info = None
  if os.path.isfile(info_path):
    try:
      info = fsutil.read_json(info_path)
    except ValueError:
      info = None
  if not isinstance(info, dict) or info.get("generator") != "jddc.data.synth":
    raise FileExistsError(f"{out_dir} holds files but no {INFO_FILE} of jddc.data.synth: not a corpus this "
                          "generator wrote, so it is not deleted; pass an empty or new folder")


def generate(out_dir: str, num_sessions: int, seed: int = 0, workers: int = 0, overwrite: bool = True) -> dict:
  """Writes a release folder with `num_sessions` sessions; returns the corpus info.

  The corpus is written into a temporary folder beside `out_dir` and renamed when complete,
  so `out_dir` holds the old corpus or the new one, never half of one. An existing `out_dir`
  is replaced only if it is empty or a corpus this generator wrote (`check_replaceable`).
  """
  if os.path.lexists(out_dir) and not overwrite:
    raise FileExistsError(out_dir)
  check_replaceable(out_dir)
  with fsutil.atomic_dir(out_dir, replace=True) as tmp:
    info = _write_corpus(tmp, num_sessions, seed, workers)
  return info


def _write_corpus(out_dir: str, num_sessions: int, seed: int, workers: int) -> dict:
  """Writes the corpus into the (empty) folder `out_dir`; returns the corpus info."""
  os.makedirs(os.path.join(out_dir, "images"))
  splits = assign_splits(num_sessions, seed)
  annotated = annotated_subset(num_sessions, seed)
  workers = workers or min(os.cpu_count() or 1, 8)
  chunk = 50
  jobs = [(seed, range(a, min(a + chunk, num_sessions)), splits) for a in range(0, num_sessions, chunk)]
  if workers > 1:
    # spawn, not fork: the caller may have started JAX's threads (forking those can deadlock).
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
      results = [g for part in pool.map(_generate_range, jobs) for g in part]
  else:
    results = [g for job in jobs for g in _generate_range(job)]
  for g in results:
    for name, data in g.image_bytes.items():
      with open(os.path.join(out_dir, "images", name), "wb") as f:
        f.write(data)
  faults.point("corpus.during_generation")
  for split in schema.SPLITS:
    release.write_dialogues(os.path.join(out_dir, "dialogues", f"{split}.tsv"),
                            [g.session for g in results if g.session.split == split])
  catalogue = catalogue_lib.build_catalogue(seed)
  release.write_knowledge(os.path.join(out_dir, "knowledge.tsv"),
                          [t for skus in catalogue.values() for sku in skus for t in sku.triples()])
  ann_dir = os.path.join(out_dir, "annotations")
  release.write_jsonl(os.path.join(ann_dir, release.ANNOTATION_FILES["image_categories"]),
                      [release.annotation_record(a) for g in results for a in g.image_categories])
  picked = [g for i, g in enumerate(results) if i in annotated]
  for kind, attr in (("rewrites", "rewrite"), ("discourse", "discourse"), ("summaries", "summary")):
    release.write_jsonl(os.path.join(ann_dir, release.ANNOTATION_FILES[kind]),
                        [release.annotation_record(getattr(g, attr)) for g in picked])
  release.write_jsonl(os.path.join(out_dir, META_FILE), [g.meta for g in results])
  info = {"generator": "jddc.data.synth", "version": GENERATOR_VERSION, "code": generator_fingerprint(), "seed": seed,
          "sessions": num_sessions, "annotated_sessions": len(annotated), "image_size": IMAGE_SIZE}
  with open(os.path.join(out_dir, INFO_FILE), "w", encoding="utf-8") as f:
    json.dump(info, f, indent=1, sort_keys=True)
    f.write("\n")
  return info


def generator_fingerprint() -> str:
  """A hash of the generator's source: a cached corpus from other code is regenerated."""
  return fsutil.code_fingerprint("jddc.data.synth")


def ensure_corpus(out: str, size: str, seed: int) -> tuple[str, bool]:
  """The embedded corpus folder, generated unless an identical one exists. Returns (path, generated)."""
  path = os.path.join(out, f"jddc_{size}_seed{seed}")
  info_path = os.path.join(path, INFO_FILE)
  expected = {"version": GENERATOR_VERSION, "code": generator_fingerprint(), "seed": seed, "sessions": SIZES[size]}

  def complete() -> bool:
    if not os.path.isfile(info_path):
      return False
    info = fsutil.read_json(info_path)
    return all(info.get(k) == v for k, v in expected.items())

  if complete():
    return path, False
  with fsutil.file_lock(path):  # a concurrent first run waits here, then finds the corpus complete
    if complete():
      return path, False
    fsutil.sweep_leftovers(out, os.path.basename(path))
    generate(path, SIZES[size], seed)
  return path, True
