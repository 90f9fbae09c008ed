"""Scenario scripts of the embedded corpus, one flow per family of image subcategories.

A session is: an opening, a problem told with an image whose facts the text only points
at, agent replies that read those facts off the image (and off the SKU's knowledge
triples), often a second image (an order, logistics or product picture), a solution, and a
closing. Each flow returns the summary and the rewrite of its main multimodal query,
written from the same facts.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from jddc.data.synth import facts as F
from jddc.data.synth.catalogue import Sku, find_sku
from jddc.data.synth.script import Script
from jddc.data.synth.side_exchanges import wrap_up

AFTER_SALES_PHOTOS = ("photo_damaged_appearance", "photo_malfunction", "photo_missing_items", "photo_installation")
PRE_SALES = ("photo_purchase_consultation", "photo_recommendation_comparison", "screenshot_product")

# Main image subcategory per shop type, with weights (appliances: consultation and usage;
# fashion: damaged appearance, as the paper's Section 3.5 observes).
PRIMARY_WEIGHTS = {
    "home_appliances": {
        "photo_damaged_appearance": 8, "photo_malfunction": 14, "photo_missing_items": 8, "photo_installation": 9,
        "photo_purchase_consultation": 12, "photo_recommendation_comparison": 7, "screenshot_product": 6,
        "screenshot_product_order": 7, "screenshot_logistics_order": 7, "screenshot_after_sales_order": 5,
        "screenshot_text_message": 4, "photo_user_screen": 4, "screenshot_user_comment": 3,
        "screenshot_system_software": 3, "screenshot_other": 3},
    "fashion": {
        "photo_damaged_appearance": 16, "photo_malfunction": 10, "photo_missing_items": 8, "photo_installation": 3,
        "photo_purchase_consultation": 10, "photo_recommendation_comparison": 8, "screenshot_product": 6,
        "screenshot_product_order": 7, "screenshot_logistics_order": 7, "screenshot_after_sales_order": 5,
        "screenshot_text_message": 4, "photo_user_screen": 4, "screenshot_user_comment": 4,
        "screenshot_system_software": 3, "screenshot_other": 3},
}

P_DEGRADED = 0.07  # a picture too blurred and dark to read
P_INTENTLESS = 0.06  # the query's words give no intent ("？", "[表情]"): nothing to rewrite it into
# (the paper: 14.28% of multimodal queries cannot be rewritten; here about 8% + 7%)
P_SECOND_IMAGE = 0.8
P_VAGUE_QUERY = 0.45  # the query's words do not say what the picture shows
VAGUE_QUERIES = ("{看看|看下|帮我看看|帮忙看一下}这个[吧]", "这{个|}{是|}{怎么回事|什么情况}[啊|呀]？", "{你|您}{看一下|瞧瞧}[这个]",
                 "{就是|}这样的[，{怎么办|咋整}]", "{麻烦|}{看看|看一下}{图片|图}")
INTENTLESS_QUERIES = ("？", "??", "？？？", "。。。", "喏", "你看", "{嗯|呃}", "这", "{哎|唉}")

# How a customer's picture relates to the words it comes with depends on what it shows: a
# screen gives the background of the question (an order, a parcel, a message), a photo of the
# product elaborates it (the defect, the fault, the item asked about). After a vague query only
# the picture tells them apart, which is what the multimodal discourse parser (Table 8) can
# use and the text-only cannot.
_PICTURE_RELATION = {
    "photo_damaged_appearance": "elaboration", "photo_missing_items": "elaboration", "photo_malfunction": "elaboration",
    "photo_installation": "elaboration", "photo_purchase_consultation": "elaboration",
    "photo_recommendation_comparison": "elaboration", "screenshot_product": "elaboration",
    "screenshot_product_order": "background", "screenshot_logistics_order": "background",
    "screenshot_after_sales_order": "background", "screenshot_user_comment": "background",
    "photo_user_screen": "background", "screenshot_text_message": "background",
    "screenshot_system_software": "background", "screenshot_other": "background",
}


@dataclasses.dataclass
class Outcome:
  summary: str
  rewrite_messages: list[int]  # the main multimodal query's message indices
  can_rewrite: bool
  rewrite: str
  query_kind: str  # "specific" | "vague" | "intentless": what the query's words say
  summary_uses: frozenset = frozenset()  # fact keys the summary names


def picture_relation(s: Script, slot: str) -> str:
  """The relation of the picture in `slot` to the customer's words it illustrates."""
  return _PICTURE_RELATION[s.images[slot].category]


def query_text(s: Script, specific: tuple[str, ...]) -> tuple[str, str]:
  """A query pointing at the picture: (text, kind) with kind specific, vague or intentless."""
  r = s.rng.random()
  if r < P_INTENTLESS:
    return s.cx(s.pick(INTENTLESS_QUERIES)), "intentless"
  if r < P_INTENTLESS + P_VAGUE_QUERY:
    return s.cx(s.pick(VAGUE_QUERIES)), "vague"
  return s.cx(s.pick(specific)), "specific"


def _draw(s: Script, table: dict[str, str], exclude: tuple = ()) -> str:
  keys = [k for k in table if k not in exclude]
  return s.pick(keys)


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------

_CONTACTS = ("{在吗|在不在|有人吗|客服在吗|人呢}[？|?]", "{客服|亲}{在吗|在不在}[？]")
_HELLOS = ("{你好|您好|hi|hello|你好客服|客服你好}[，]", "{你好|您好}，{问一下|咨询个事|请问}")


def opening(s: Script) -> Optional[int]:
  """The customer's first words; returns the EDU the agent's greeting answers, or None."""
  if s.chance(0.3):
    return None
  contact = s.chance(0.45)
  (edu,) = s.say(False, (s.cx(s.pick(_CONTACTS if contact else _HELLOS)), None, "contact" if contact else None))
  s.opened_by_contact = contact
  return edu


def greeting_part(s: Script, open_edu: Optional[int]) -> tuple:
  text = s.x("{<hi>|<hi>，我是客服<name>|<hi>，[我是]<name>[很高兴]为您服务}，")
  if open_edu is not None and getattr(s, "opened_by_contact", False) and s.chance(0.3):
    return (s.x("{在的|在呢|在的亲|在}，"), open_edu, "confirm")
  return (text, open_edu, "social")


def _asks(text: str) -> Optional[str]:
  """The question relation of a customer's words, or None when they ask nothing."""
  if any(q in text for q in ("怎么", "什么", "哪", "咋", "多少", "多久", "几天", "谁")):
    return "5w1h"
  if any(q in text for q in ("吗", "是不是", "能不能", "有没有", "可不可以", "？", "?")):
    return "yes_no"
  return None


def _question_relation(text: str) -> str:
  return "yes_no" if any(q in text for q in ("吗", "是不是", "能不能", "有没有", "可不可以")) else "5w1h"


_BACKGROUNDS = ("{昨天|前天|<date>}{刚|才}{收到|到}的", "{第一次|头一回}在{你们家|这家店}买", "{给家里人|给我妈|送朋友}买的",
                "{等了|都等了}{好几天|<num>天}了", "{着急用|急用|等着用}", "订单号<order>", "{<date>|上周}下的单")


def query(s: Script, slot: str, text: str, anchor: Optional[int], relation: Optional[str]) -> tuple[int, int, list[int]]:
  """The customer's multimodal query: a pointing text and the image, in either order.

  Returns (text EDU, image EDU, message indices of the query).
  """
  first_message = len(s.messages)
  background = s.cx(s.pick(_BACKGROUNDS)) if s.chance(0.15) else None
  extra = [(background, -1, "background")] if background else []
  asks = _asks(text)
  if s.chance(0.6):
    t = s.say(False, (text, anchor, asks if asks and anchor is not None else relation), *extra, merge=False)[0]
    img = s.show(slot, t, picture_relation(s, slot))
  else:
    img = s.show(slot, anchor, relation)
    t = s.say(False, (text, img, asks or "elaboration"), *extra, merge=False)[0]
  return t, img, list(range(first_message, len(s.messages)))


_RETAKES = ("{图片|照片}有点{模糊|糊}，{看不太清楚|看不清}，麻烦{您|<you>}{重新拍一张|再拍一张清楚的}<p>",
            "<dear_>这张{图片|照片}{太暗了|光线太暗}看不清，{能|可以}再{拍|发}一张吗？",
            "<sorry>，{图片|图}不太清晰，麻烦{您|<you>}重新{发|拍}一张{清楚一点|亮一点}的<p>")


def retake(s: Script, slot: str, after: int, greeting: Optional[tuple]) -> int:
  """The agent cannot read a degraded image and asks again; returns the clear image's EDU."""
  parts = [greeting] if greeting else []
  parts.append((s.x(s.pick(_RETAKES)), after, "request", [f"{slot}.legibility"]))
  ids = s.say(True, *parts)
  clear = f"{slot}r"
  old = s.images[slot]
  s.add_image(clear, old.category, old.facts)
  (ok,) = s.say(False, (s.cx("{<ok>|<ok>，{等下|稍等}|{好的|行}，{我|}重新拍}"), ids[-1], "suggestion_acceptance"))
  img = s.show(clear, ok, picture_relation(s, clear))
  # Facts now come from the clear picture; its slot shares the facts of the degraded one.
  s.shown.update(f"{slot}.{name}" for name in old.facts)
  return img


def _after_sales_topic(s: Script, category: str) -> tuple[str, list[str]]:
  w = s.word
  if category == "photo_damaged_appearance":
    return f"{w('p1.product')}{w('p1.defect')}", ["p1.defect"]
  if category == "photo_malfunction":
    return f"{w('p1.product')}{w('p1.fault')}", ["p1.fault"]
  if category == "photo_missing_items":
    return f"少{w('p1.missing')}", ["p1.missing"]
  return f"{w('p1.part')}安装", ["p1.part"]


_THANKS = ("{好的|好|嗯嗯|行}{谢谢|谢了|多谢|感谢}[啊|哈|～]", "{行|好的}，{麻烦{你|您}了|辛苦了}", "{那好吧|好吧}[，{谢谢|就这样吧}]",
           "{知道了|明白了|了解}，{谢谢|谢谢啊}", "{ok|OK}{谢谢|}", "{没有了|没了|暂时没有了}，{谢谢|谢谢你}")
_BYES = ("{不客气|不用客气|应该的}[<p>]，{还有{其他|别的}问题随时{联系|找}{我们|我}|祝{您|<you>}{生活愉快|周末愉快|一切顺利}}<tail>",
         "{感谢|谢谢}{您|<you>}的{耐心|理解和支持|支持}，{祝您生活愉快|有问题再找我|再见}<tail>",
         "{不客气|客气啦}，{后续|之后}有{任何|什么}问题{随时|可以}{联系|找}{我们|我}<tail>")


def closing(s: Script, last: int) -> None:
  relation = "promise_acceptance" if s.edus[last].relation == "promise" else "social"
  (thanks,) = s.say(False, (s.cx(s.pick(_THANKS)), last, relation))
  if s.chance(0.6):
    s.say(True, (s.x(s.pick(_BYES)), thanks, "social"))


# ---------------------------------------------------------------------------
# After-sales photos: damaged, malfunction, missing items, installation
# ---------------------------------------------------------------------------

_COMPLAINTS = ("这{个|}{是|}怎么回事？", "收到的{东西|货|<p1.product>}{是|就是}这样的", "你们这{个|}质量也{太差了|太差劲了}吧",
               "{刚|才}收到就这样了", "这{种|}情况{怎么处理|怎么办}？", "{我|}{收到|拿到}的{东西|货}有问题",
               "{这个|}{能|可以}{退|换}吗？", "{你们|}{给个|给我个}说法吧")
_SOLUTION_WORD = {"crack": "换新", "hole": "换新", "dent": "换新", "scratch": "补偿", "stain": "补偿"}
_FAULT_FIX = {
    "red_light": "红灯常亮{一般|多半}是干烧保护，{断电|拔掉电源}{冷却|放}{十分钟|<num>分钟}{后|}再{试试|用}",
    "no_light": "指示灯不亮{请|麻烦}先{检查|看看}{插座|电源}和电源线{是否|有没有}插紧",
    "code_e1": "E1是温度传感器{故障|出问题了}，{需要|得}寄回{检修|维修}",
    "code_e3": "E3是{内部|机器}过热保护，{清理|清一下}底部{通风口|出风口}{后|}重新开机",
    "smoke": "冒烟{请|的话}{立即|马上}{停止使用|别用了}并断电，{我们|这边}给您换新",
    "zipper_broken": "拉链坏了{可以|能}给您{寄|补寄}一个拉链头，{或者|也可以}退回{维修|修}",
    "sole_detached": "开胶属于质量问题，给您换一双新的",
    "seam_split": "开线属于质量问题，{给您|可以}{退回|寄回}免费修补",
    "button_missing": "掉扣子{我们|这边}给您补寄同款{纽扣|扣子}",
    "fading": "掉色{请|建议}用冷水手洗，{严重的话|实在不行}给您退货",
}
_PART_HOWTO = {
    "base": "底座要对准卡槽顺时针拧紧，听到{咔哒|咔}{一声|声}就装好了",
    "lid": "盖子要先扣住{后面|后边}的卡扣，再往下按",
    "handle": "把手对准两侧的孔位插{入|进去}，再拧上螺丝",
    "plug": "插头{请|最好}直接插在墙插上，不要用排插",
    "hood": "帽子沿着领口的拉链拉上就能装好",
    "strap": "肩带穿过背面的扣环{后|以后}调节长度",
    "zipper": "拉链头要先对齐底部插销再往上拉",
    "pocket": "口袋内侧有暗扣，按下就能打开",
}


def _problem_facts(s: Script, category: str, sku: Sku, colour: str) -> dict[str, str]:
  shop = sku.shop_type
  out = {"product": sku.product}
  if "colour" in F.IMAGE_FACTS[category]:
    out["colour"] = colour
  if category == "photo_damaged_appearance":
    out.update(defect=_draw(s, F.DEFECTS), place=_draw(s, F.PLACES))
  elif category == "photo_malfunction":
    out["fault"] = _draw(s, F.FAULTS[shop])
  elif category == "photo_missing_items":
    out["missing"] = _draw(s, F.ACCESSORIES[shop])
  elif category == "photo_installation":
    out["part"] = _draw(s, F.PARTS[shop])
  return out


# The agent's reading of the main photo. Some readings restate every fact, some only a part,
# some none ("收到，已为您登记"): what they leave out, only the picture (and the summary) says.
_DESCRIBE = {
    "photo_damaged_appearance": (
        "{看到了|收到图片了}，{您收到的这|您这}<p1.product#mw><p1.colour><p1.product><p1.place>{有|确实有}<p1.defect>，<sorry>",
        "从{图片|照片}{看|上看}<p1.place>确实有<p1.defect>，<sorry>",
        "您这<p1.product#mw><p1.product>的<p1.defect>我看到了，<sorry>",
        "{图片|照片}{收到了|已收到}，{情况|问题}{我|这边}{了解了|看到了}，<sorry>",
        "{嗯嗯|好的}，{是|确实是}{有点|有}<p1.defect>，{我们|这边}{马上|会}{给您|帮您}处理"),
    "photo_malfunction": (
        "{看到了|收到图片了}，您这<p1.product#mw><p1.product>是<p1.fault>的{情况|问题}",
        "从{图片|照片}{看|上看}是<p1.fault>，{您别着急|<you>先别急}",
        "您的<p1.colour><p1.product><p1.fault>了是吧",
        "{图片|视频截图}{收到了|我看了}，{这个情况|这种问题}{我们|这边}{能|可以}处理<p>"),
    "photo_missing_items": (
        "看了{您的|}{图片|照片}，确实{少了|缺了}<p1.missing><p>",
        "<dear_>{图片里|照片上}没有<p1.missing>，{是|应该是}{漏发了|仓库漏发了}",
        "您是说<p1.missing>没{收到|有}对吧",
        "{图片收到了|看到了}，{这边|我}{帮您|给您}{登记一下|记下来}<p>"),
    "photo_installation": (
        "您问的是<p1.part>{怎么装|怎么安装}吧",
        "{图片|照片}上箭头这里是<p1.part>，我{跟您说下|给您讲一下}怎么装",
        "<p1.part>的安装是吧，{您别急|不难的}",
        "{明白|了解}了，{这个|这里}{安装|装}{起来|}{很简单|不难}<p>"),
}


def _describe(s: Script, category: str):
  """The agent's reading of the main photo (a Phrase; its `uses` are the facts it names)."""
  return s.x(s.pick(_DESCRIBE[category]))


def _solution(s: Script, category: str) -> tuple[str, str, list[str]]:
  """(solution offered, what is promised, fact keys used)."""
  if category == "photo_damaged_appearance":
    kind = _SOLUTION_WORD[s.value("p1.defect")]
    if kind == "换新":
      return (s.x("{这种情况|<p1.defect>这种{情况|问题}}{给您|可以给您}免费{换新|换一<p1.product#mw>新的}，{您看可以吗|您看行吗|可以吗}？"),
              s.x("换一<p1.product#mw>新的<p1.product>"), ["p1.defect", "p1.product"])
    return (s.x("这种轻微的{情况|<p1.defect>}{给您|可以给您}补偿{10|<num>}元，{您看可以吗|您看行吗|可以接受吗}？"),
            s.x("补偿{10|<num>}元"), ["p1.defect"])
  if category == "photo_malfunction":
    fix = s.x(_FAULT_FIX[s.value("p1.fault")])
    return (fix, s.x("跟进<p1.fault>的处理"), ["p1.fault"])
  if category == "photo_missing_items":
    return (s.x("{马上|今天}{给您|帮您}补发<p1.missing>，{不用退货|不需要退回}<p>"), s.x("补发<p1.missing>"), ["p1.missing"])
  return (s.x(_PART_HOWTO[s.value("p1.part")]), s.x("发一份<p1.part>的安装视频"), ["p1.part"])


_ORDER_REQUESTS = ("麻烦{您|<you>}{提供|发}一下订单截图，我{帮您|给您}核实<p>", "{您|<you>}把订单{页面|详情}截图发我看下<p>",
                   "能{发|提供}一下订单截图吗？{我|这边}{核实一下|查一下}", "{方便|麻烦}{发|截}个订单{截图|页面}{吗|}？")
_ORDER_STATUS_LEAD = {"shipped": "{订单|您的订单}还在配送中，签收后", "completed": "{订单|订单状态}已完成，",
                      "to_ship": "订单还没{发出|发货}，"}
_PROMISES = ("{好的|<ok>}，已经为您登记，{给您|帮您}<promised>，{1到3天|<num>个工作日}内处理",
             "已经{帮您|为您}提交了，会尽快<promised><p>", "{收到|<ok>}，{给您|帮您}<promised>，{请|麻烦}留意短信通知<p>",
             "{好的|<ok>}，{这边|我}{马上|现在就}{给您|帮您}<promised>，{预计|大概}<date>{前|}{处理好|有结果}")
_EXPLANATIONS = ("{我们|这边}会{安排|让}快递{上门取件|上门}，{您|<you>}{在家|方便的时候}{等着|签收}就行<p>",
                 "{处理|办理}{进度|结果}{会|都会}{短信|消息}{通知|告诉}{您|<you>}，{不用|无需}{一直|}{盯着|等着}<p>",
                 "{这个|这}{不会|不}影响{您的|}{正常使用|保修|售后}<p>", "{如果|要是}{还有|再有}{问题|什么情况}，{直接|随时}{找我|联系我们}<p>",
                 "{订单|售后单}{号|}<order>{我|这边}{已经|}备注{好了|了}<p>")
_ORDER_NUMBER_ASKS = ("{麻烦|请}{提供|发}一下{您的|}订单号<p>，{我|这边}{帮您|给您}{查一下|核实一下}",
                      "{您|<you>}{方便|能}{说下|告诉我}订单号吗？{我|这边}{查一下|看看}{具体|}情况",
                      "{请问|}是{哪个|哪一个}订单呢？{您|<you>}{发一下|说下}订单号<p>")
_ORDER_NUMBERS = ("<order>", "{订单号|单号}[是]<order>", "{就是|是}<date>{买的|下的}那个[，<order>]", "<order> {这个|这单}")
_FEEDBACKS = ("{哦|噢|哦哦}[，{这样啊|原来是这样|明白了}]", "嗯嗯[，{知道了|了解}]", "{好吧|行吧}", "{这样啊|原来这样}")


def ask_order_number(s: Script, last: int) -> int:
  """The agent asks which order; the customer gives its (masked) number. Returns the answer's EDU."""
  (ask,) = s.say(True, (s.x(s.pick(_ORDER_NUMBER_ASKS)), last, "request"))
  (given,) = s.say(False, (s.cx(s.pick(_ORDER_NUMBERS)), ask, "affirmation"))
  return given


def customer_feedback(s: Script, last: int, p: float = 0.4) -> int:
  """Sometimes the customer's interjection after an answer ("哦哦，这样啊"). Returns the last EDU."""
  if not s.chance(p):
    return last
  (fb,) = s.say(False, (s.cx(s.pick(_FEEDBACKS)), last, "feedback"))
  return fb


_CUSTOMER_CHECKS = ("{那|}{要|得}{多久|几天}{能|才能}{处理好|弄好}？", "{那|}{是不是|是}{要|得}我{自己|}寄回去？",
                    "{还|}{需要|要}我{做|提供}什么吗？", "{运费|邮费}{谁出|要我出吗}？", "{能不能|可以}{快点|尽快}{处理|弄}？",
                    "{我|}{需要|要}在家等{着|}吗？")
_CHECK_ANSWERS = ("{一般|正常}{1到3天|<num>个工作日}{就能|可以}{处理好|处理完}<p>，{有进展|处理好了}{会|}{短信|消息}通知{您|<you>}",
                  "不用的，{我们|这边}{安排|会安排}{快递|}上门取件<p>，{您|<you>}{包装好|准备好}{就行|就可以}",
                  "不需要的，{等|}{我们|这边}处理{就好|就可以}<p>，{您|<you>}{不用|无需}{操作|做什么}",
                  "运费{我们|这边}{承担|来出}，{您|<you>}放心<p>，{不会|不}{让您|}{多花钱|额外收费}的")


def after_sales(s: Script, category: str, sku: Sku, degraded: bool) -> Outcome:
  s.kind = "after_sales"
  colour = s.pick(sku.colours)  # the customer's own item: the photo and the order screenshot agree
  s.add_image("p1", category, _problem_facts(s, category, sku, colour), degraded)
  s.state("p1.product")  # known from the order's SKU
  open_edu = opening(s)
  text, kind = query_text(s, _COMPLAINTS)
  if kind == "specific" and s.chance(0.3):
    text = s.cx("{买的|我买的|之前买的}<p1.product>，") + text
  t, img, query_messages = query(s, "p1", text, open_edu, "elaboration" if open_edu is not None else None)
  if category in ("photo_damaged_appearance", "photo_missing_items") and s.chance(0.1):
    s.say(False, (s.cx("{我|}{有|这有|拍了}开箱视频{可以证明|为证|的}"), t, "proof"))
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "p1", img, greeting)
    greeting = None
  if s.chance(0.25):
    s.say(True, *([greeting] if greeting else []), (s.x("<wait>，{我看一下|我看下图片|这边{查看|核实}一下}<p>"), t, "suspend"))
    greeting = None
  s.topic = _after_sales_topic(s, category)
  parts = ([greeting] if greeting else []) + [(_describe(s, category) + "，", img, "elaboration")]
  second = s.chance(P_SECOND_IMAGE)
  if second:
    parts.append((s.x(s.pick(_ORDER_REQUESTS)), t, "request"))
  ids = s.say(True, *parts)
  last = ids[-1]
  status_text = ""
  if second:
    s.add_image("o2", "screenshot_product_order",
                {"product": sku.product, "colour": colour, "order_status": s.pick(("shipped", "completed", "to_ship"))})
    (ok,) = s.say(False, (s.cx("{<ok>|<ok>，{稍等|等下}|{发你了|给}}"), last, "suggestion_acceptance"))
    img2 = s.show("o2", ok, picture_relation(s, "o2"))
    status_text = s.x(_ORDER_STATUS_LEAD[s.value("o2.order_status")])
    status_text.uses |= {"o2.order_status"}
    last = img2
  elif s.chance(0.4):
    last = ask_order_number(s, last)
  offer, promised, uses = _solution(s, category)
  sol_parts = [((s.x("{看到|看了下，|核实了，}") + status_text if second else "") + offer, last,
                "solution" if category == "photo_malfunction" else "suggestion", uses)]
  if s.chance(0.5):
    sol_parts.append((s.x(s.pick(_EXPLANATIONS)), -1, "elaboration"))
  ids = s.say(True, *sol_parts)
  sol = ids[-1]
  if category in ("photo_damaged_appearance", "photo_missing_items") and s.chance(0.2):
    (rej,) = s.say(False, (s.cx("{不要这个|不想换了|算了}，{我要|我想|直接}{退货|退了吧|退款}"), sol, "suggestion_rejection"))
    (sol,) = s.say(True, (s.x("{好的|<ok>}，<p1.product>{给您|帮您}{办理|申请}退货退款，{上门取件|快递上门}{免运费|不收运费}<p>"),
                          rej, "affirmation"))
    promised = s.x("办理退货退款")
  else:
    parts = [(s.cx("{<ok>|可以|那就这样吧|嗯嗯可以|行吧}"), sol, "suggestion_acceptance")]
    if s.chance(0.25):
      parts.append((s.cx("{虽然|}{有点|挺}{麻烦|折腾}，{不过|但}{能处理就行|也只能这样了}"), -1, "concession"))
    sol = s.say(False, *parts)[0]
  if s.chance(0.7):
    check_text = s.cx(s.pick(_CUSTOMER_CHECKS))
    (check,) = s.say(False, (check_text, sol, _question_relation(check_text)))
    k = int(s.rng.integers(len(_CHECK_ANSWERS)))
    (sol,) = s.say(True, (s.x(_CHECK_ANSWERS[k]), check, "deny" if _CHECK_ANSWERS[k].startswith("不") else "affirmation"))
    sol = customer_feedback(s, sol)
  promise_text = s.x(s.pick(_PROMISES), promised=promised)
  (promise,) = s.say(True, (promise_text, sol, "promise" if s.chance(0.2) else "elaboration", uses))
  promise = wrap_up(s, promise, promised, uses)
  closing(s, promise)
  problem = s.x({
      "photo_damaged_appearance": "{收到的|}<p1.colour><p1.product><p1.place>有<p1.defect>",
      "photo_malfunction": "{购买的|}<p1.colour><p1.product>{出现|}<p1.fault>",
      "photo_missing_items": "{收到的|}<p1.product>{少了|缺少}<p1.missing>",
      "photo_installation": "不会安装<p1.product>的<p1.part>"}[category])
  status = s.x("，核实订单{已发货|在途}后" if second and s.value("o2.order_status") == "shipped" else
               "，核实订单{已完成|已签收}后" if second and s.value("o2.order_status") == "completed" else
               "，核实订单未发货后" if second else "，{了解情况|确认问题}后")
  if second:
    status.uses |= {"o2.order_status"}
  summary = s.x(s.pick(("{顾客|用户}{反映|反馈|称}<problem>{，并发图说明|，发了照片|}<status>，客服{同意|承诺}<promised>。",
                        "{顾客|用户}{发图|拍照}{反映|说}<problem>，客服<status_plain>{同意|答应}<promised>{，并致歉|}。")),
                problem=problem, status=status, status_plain=status.lstrip("，"), promised=promised)
  summary.uses |= problem.uses | status.uses
  # the rewrite opens with its own 我买的/我收到的: the problem without the summary's 收到的/购买的
  rewrite_problem = problem.removeprefix("收到的").removeprefix("购买的")
  if category == "photo_installation":
    rewrite_problem = f"{s.word('p1.product')}的{s.word('p1.part')}不会安装"
  rewrite = s.x("{我买的|我收到的}<problem>，{怎么处理|这是怎么回事|怎么办|能退换吗}？",
                problem=rewrite_problem)
  can = not degraded and kind != "intentless"
  return Outcome(summary, query_messages, can, rewrite if can else "", kind, frozenset(summary.uses))


# ---------------------------------------------------------------------------
# Pre-sales: consultation, comparison, product page screenshots
# ---------------------------------------------------------------------------

_PRE_SALES_QUERIES = {
    "photo_purchase_consultation": ("这款{有吗|有没有}？", "这个{你们家|店里}有{卖|}吗", "同款有没有？", "这个多少钱[一<p1.product#mw>]",
                                    "{想买|想要}{这个|这款}，{有货吗|还有吗}"),
    "photo_recommendation_comparison": ("这两{个|款}哪{个|款}好？", "这两款{选哪个|买哪个好}", "帮我{看看|参考下}这两个哪个{好|更好}",
                                        "{纠结|犹豫}{这两个|这两款}，{推荐|选}哪个"),
    "screenshot_product": ("这个还有货吗？", "这款现在{有货|有现货}吗", "链接里这个还有吗", "{这个|这款}{能|可以}{今天|马上}发吗？")}
_ANSWERS_IN_STOCK = (
    "您看的这款<p1.colour><p1.product>{我们|店里}有的，是<brand>的，<a0n>是<a0v><p>",
    "有的<dear>，这是<brand><p1.product>，<p1.colour>{现在|目前}有货，<a0n><a0v><p>",
    "这款<p1.product>有货<p>，<p1.colour>的，<a0n><a0v>",
    "{有的|有货的}，{这款|这个}是<brand>的，{<a0n>|它的<a0n>}是<a0v>，{很多人买|卖得挺好}<p>")
_ATTR_QUESTIONS = ("<a1n>{是|}多少？", "<a1n>呢", "那<a1n>{怎么样|如何}", "{请问|}<a1n>{是什么|是啥}", "{想问下|问下}<a1n>")
_ATTR_ANSWERS = ("<a1n>是<a1v><p>[，{这款|它}{卖得很好|口碑{很|挺}不错|性价比{很|挺}高}]", "这款<a1n><a1v>的，{日常|平时}<p1.product#use>{完全|}{够了|没问题}<p>",
                 "<a1v>的<dear>，{详情页|商品页}{里|上}{也|}{有写|写了}<p>", "{它|这款}的<a1n>是<a1v>，{挺|很}{实用|不错}的<p>")
_SECOND_COLOUR = ("那这个颜色有吗？", "这{种|个}颜色的有没有", "还有这个颜色吗", "{这个色|这种颜色}{也|}有吗？")
_PRE_SALES_CHECKS = ("{包邮|能包邮}吗？", "{能|可以}开{发票|专票}吗？", "有{赠品|优惠|活动}吗？", "{今天|现在}下单{今天|明天}能发吗？",
                     "{保修|售后}{怎么样|多久}？", "是正品吗？")
_PRE_SALES_ANSWERS = ("{包邮的|可以的}<dear>，{全国|大部分地区}{包邮|都包邮}<p>", "可以开{电子|}发票，{下单时|付款时}{选一下|备注}就行<p>",
                      "{不好意思|抱歉}，{目前|现在}{没有|暂时没有}{赠品|活动}<p>，{不过|但是}{价格|这个价}已经很{优惠|实惠}了",
                      "{<time>|下午四点}前下单{当天|今天}{发|就能发}<p>", "{保修|售后}是<warranty>，{放心|您放心}{购买|买}<p>",
                      "{没问题|放心}，{我们|店里}{都是|全是}正品，{假一赔十|支持验货}<p>")
_PRE_SALES_DENIALS = (2,)  # the answers of _PRE_SALES_ANSWERS that say no
_BUY = ("{好的|行}，{那我|我}{拍了|下单了}", "{那我|我}{考虑一下|再看看}", "{好的|嗯}，{我看看|我再比较下}", "{能|可以}{便宜点|优惠点}吗？")


def pre_sales(s: Script, category: str, shop_type: str, catalogue, degraded: bool) -> Outcome:
  s.kind = "pre_sales"
  product = _draw(s, F.PRODUCTS[shop_type])
  colour = _draw(s, F.COLOURS)
  facts = {"product": product, "colour": colour}
  if category == "photo_recommendation_comparison":
    facts["colour_right"] = _draw(s, F.COLOURS, exclude=(colour,))
  s.add_image("p1", category, facts, degraded)
  open_edu = opening(s)
  text, kind = query_text(s, _PRE_SALES_QUERIES[category])
  if kind == "specific" and s.chance(0.2):
    text = s.cx("<p1.product>，") + text
    s.state("p1.product")
  t, img, query_messages = query(s, "p1", text, open_edu, "elaboration" if open_edu is not None else None)
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "p1", img, greeting)
    greeting = None
  sku = find_sku(catalogue, product, colour)
  s.topic = (f"咨询的{s.word('p1.colour')}{s.word('p1.product')}", ["p1.colour", "p1.product"])
  attrs = list(sku.attributes)
  a0, a1 = attrs[0], attrs[1]
  kb = {"brand": sku.brand, "a0n": a0[0], "a0v": a0[1], "a1n": a1[0], "a1v": a1[1], "warranty": attrs[-1][1]}
  if category == "photo_recommendation_comparison":
    right = find_sku(catalogue, product, facts["colour_right"])
    other = right if right.sku != sku.sku else catalogue[product][1]
    answer = s.x("左边<p1.colour>的是<brand>的<p1.product>，<a0n><a0v>；右边<p1.colour_right>的是<other>的，<a0n><ov>，"
                 "{两款都不错|看您更看重哪个}<p>", other=other.brand, ov=other.attribute(a0[0]), **kb)
    relation = "recommend"
  else:
    answer = s.x(s.pick(_ANSWERS_IN_STOCK), **kb)
    relation = "affirmation"
  ids = s.say(True, *([greeting] if greeting else []), (answer, t, relation))
  (ask,) = s.say(False, (s.cx(s.pick(_ATTR_QUESTIONS), **kb), ids[-1], "5w1h"))
  (ans,) = s.say(True, (s.x(s.pick(_ATTR_ANSWERS), **kb), ask, "affirmation", ["p1.product"]))
  last, extra = ans, s.x("")
  if s.chance(P_SECOND_IMAGE):
    colour2 = _draw(s, F.COLOURS, exclude=(colour,))
    s.add_image("c2", "photo_purchase_consultation", {"product": product, "colour": colour2})
    (q2,) = s.say(False, (s.cx(s.pick(_SECOND_COLOUR)), ans, "yes_no"))
    img2 = s.show("c2", q2, picture_relation(s, "c2"))
    if colour2 in sku.colours:
      (last,) = s.say(True, (s.x("<c2.colour>的也有货{，可以直接拍|，直接下单就行|}<p>"), img2, "affirmation"))
    else:
      avail = "、".join(F.COLOURS[c][0] for c in sku.colours)
      (last,) = s.say(True, (s.x("<c2.colour>的{暂时没有|目前缺货}<p>，这款只有<avail>", avail=avail), img2, "deny",
                             ["p1.product"]))
    extra = s.x("，{还|}询问<c2.colour>是否有货")
  if s.chance(0.5):
    q_text = s.cx(s.pick(_PRE_SALES_CHECKS))
    (q,) = s.say(False, (q_text, last, _question_relation(q_text)))
    k = int(s.rng.integers(len(_PRE_SALES_ANSWERS)))
    (last,) = s.say(True, (s.x(_PRE_SALES_ANSWERS[k], **kb), q, "deny" if k in _PRE_SALES_DENIALS else "affirmation"))
    last = customer_feedback(s, last, 0.3)
  (buy,) = s.say(False, (s.cx(s.pick(_BUY)), last, "feedback"))
  (promise,) = s.say(True, (s.x(s.pick(("{好的|<ok>}，<p1.product>{拍下|下单}后{48小时|<num>小时}内{发货|发出}<p>",
                                       "{好的|<ok>}<dear>，<p1.product>{下单|拍下}后{尽快|第一时间}给您{发出|安排发货}<p>"))),
                            buy, "promise" if s.chance(0.2) else "elaboration", ["p1.product"]))
  promise = wrap_up(s, promise, s.x("<p1.product>{拍下|下单}后尽快发货"), ["p1.product"])
  closing(s, promise)
  summary = s.x(s.pick(("{顾客|用户}{咨询|询问}<p1.colour><p1.product>{是否有货|有没有货}，客服介绍了<brand>款的<a0n>和<a1n><extra>。",
                        "{顾客|用户}发图{询问|咨询}<p1.colour><p1.product><extra>，客服告知<a0n><a0v>、<a1n><a1v>。")),
                extra=extra, **kb)
  summary.uses |= extra.uses
  if category == "photo_recommendation_comparison":
    rewrite = s.x("<p1.colour>和<p1.colour_right>的<p1.product>{哪个好|选哪个好|哪个更好}？")
  else:
    rewrite = s.x("<p1.colour>的<p1.product>{有货吗|还有吗|有没有货}？")
  can = not degraded and kind != "intentless"
  return Outcome(summary, query_messages, can, rewrite if can else "", kind, frozenset(summary.uses))
