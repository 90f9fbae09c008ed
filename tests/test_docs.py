"""The code in docs/ runs: the worked converter of docs/adapting_a_release.md, on a made-up
release of the shape it describes, writes a folder the release reader reads back whole."""

import json
import os
import re

from jddc import configuration
from jddc.data import release

DOC = os.path.join(configuration.REPO_ROOT, "docs", "adapting_a_release.md")


def _python_blocks(path: str) -> list[str]:
  with open(path, encoding="utf-8") as f:
    return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_the_converter_of_the_release_doc_writes_a_readable_release(tiny_release, tmp_path):
  (code,) = _python_blocks(DOC)
  namespace = {}
  exec(compile(code, DOC, "exec"), namespace)  # pylint: disable=exec-used
  src = tmp_path / "src"
  (src / "sessions").mkdir(parents=True)
  (src / "pictures").mkdir()
  image = sorted(os.listdir(os.path.join(tiny_release, "images")))[0]
  with open(os.path.join(tiny_release, "images", image), "rb") as f:
    (src / "pictures" / image).write_bytes(f.read())
  sessions = {
      "s1": {"id": "s1", "shop": "fashion", "sku": "1001", "summary": "用户询问尺码，客服建议选L码。",
             "turns": [{"role": "customer", "text": "这件衣服有L码吗"}, {"role": "customer", "image": image},
                       {"role": "agent", "text": "有的亲，建议您选L码"}]},
      "s2": {"id": "s2", "shop": "home_appliances", "sku": "2002",
             "turns": [{"role": "customer", "text": "水壶不加热"}, {"role": "agent", "text": "请您检查一下电源"}]},
  }
  for sid, record in sessions.items():
    (src / "sessions" / f"{sid}.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
  (src / "split.json").write_text(json.dumps({"s1": "train", "s2": "test"}), encoding="utf-8")
  out = tmp_path / "release"
  namespace["convert"](str(src), str(out))
  r = release.read_release(str(out))
  assert sorted(r.sessions) == ["s1", "s2"]
  s1 = r.sessions["s1"]
  assert s1.split == "train" and s1.shop_type == "fashion" and s1.skus == ("1001",)
  assert [m.is_agent for m in s1.messages] == [False, False, True]
  assert s1.messages[1].image == image and s1.messages[0].text == "这件衣服有L码吗"
  assert r.sessions["s2"].split == "test"
  assert [(a.session_id, a.summary) for a in r.summaries] == [("s1", sessions["s1"]["summary"])]
