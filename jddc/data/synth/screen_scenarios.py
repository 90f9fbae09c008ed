"""The embedded corpus's screenshot sessions: orders, logistics, after-sales, messages, reviews, apps, coupons.

A customer sends a screen whose state (an order's status, a parcel's, a coupon's value...) the
agent reads off it and acts on; often a second screen follows. Shared pieces (opening, query,
retake, closing) are `scenarios`'.
"""

from __future__ import annotations

from jddc.data.synth import facts as F
from jddc.data.synth.catalogue import Sku
from jddc.data.synth.scenarios import (P_SECOND_IMAGE, Outcome, _ORDER_NUMBER_ASKS, _ORDER_NUMBERS, _draw,
                                       _question_relation, closing, customer_feedback, greeting_part, opening,
                                       picture_relation, query, query_text, retake)
from jddc.data.synth.script import Script
from jddc.data.synth.side_exchanges import wrap_up


# ---------------------------------------------------------------------------
# Order, logistics and other screenshots
# ---------------------------------------------------------------------------

_STATUS_REPLY = {
    "order_status": {
        "unpaid": ("订单还是待付款状态，付款后才会发货哦", "提醒付款"),
        "to_ship": ("订单是待发货，仓库今天会安排发出", "催促仓库发货"),
        "shipped": ("订单已经发货了，物流在路上", "跟进物流"),
        "completed": ("订单显示已完成，如果没收到我帮您查一下签收人", "核实签收情况"),
    },
    "logistics_status": {
        "picked_up": ("快递刚揽收，还在发往您所在城市", "持续跟进物流"),
        "in_transit": ("快递正在运输途中，预计两三天送到", "催促快递加急"),
        "delivering": ("快递员正在派送，今天就能送到", "联系快递员尽快派送"),
        "delivered": ("显示已经签收了，您看下是不是家人或驿站代收了", "核实签收人"),
        "exception": ("物流显示异常了，我马上帮您联系快递公司核实", "联系快递处理异常"),
    },
    "after_sales_status": {
        "reviewing": ("售后单还在审核中，一般24小时内审核完", "催促审核"),
        "approved": ("售后已经审核通过了，请您尽快寄回商品", "安排上门取件"),
        "rejected": ("售后单被驳回了，是因为缺少商品照片，您补充后重新提交就行", "重新提交售后"),
        "refunded": ("退款已经完成了，原路退回一般1到7个工作日到账", "跟进退款到账"),
    },
    "sms_kind": {
        "pickup_code": ("这是驿站的取件通知，凭取件码去驿站拿快递就行", "确认取件"),
        "refund_notice": ("这是退款到账的通知，钱已经退回您的账户了", "确认退款"),
        "shipping_notice": ("这是发货通知，说明商品已经发出了", "跟进物流"),
        "verification": ("这是验证码短信，请不要告诉任何人哦", "提醒账户安全"),
    },
    "stars": {
        "1": ("看到您给了一星，非常抱歉没让您满意，请问是哪里有问题呢", "回访处理差评"),
        "2": ("看到您给了两星，很抱歉，我们一定改进，方便说下原因吗", "回访处理差评"),
        "3": ("看到您给了三星中评，请问有什么不满意的地方吗", "回访中评"),
        "4": ("感谢您的四星评价，我们会继续努力", "登记评价"),
        "5": ("感谢您的五星好评，返现5元稍后发放", "发放好评返现"),
    },
    "app_error": {
        "payment_failed": ("支付失败请检查银行卡余额，或者换一种支付方式", "协助完成支付"),
        "login_failed": ("无法登录请先清除缓存，再用验证码登录", "协助登录"),
        "blank_page": ("页面空白一般是网络问题，切换一下网络再刷新", "反馈技术排查"),
        "coupon_invalid": ("优惠券不可用是因为没达到使用门槛，凑够金额就能用", "说明优惠券规则"),
    },
    "coupon": {
        "5": ("这张5元优惠券满49元可用", "说明优惠券用法"),
        "10": ("这张10元优惠券满99元可用", "说明优惠券用法"),
        "20": ("这张20元优惠券满199元可用", "说明优惠券用法"),
        "50": ("这张50元优惠券满399元可用", "说明优惠券用法"),
    },
}
_SCREEN_QUERY = {
    "screenshot_product_order": ("我的订单{怎么样了|到哪了}", "这个订单{什么情况|怎么回事}？", "帮我{看下|查下}这个订单", "订单<order>{怎么还没动|一直没变}"),
    "photo_user_screen": ("手机上{显示|出现}这个是什么意思", "我这边{显示|是}这样，怎么回事？", "{看下|你看}这个{页面|界面}"),
    "screenshot_logistics_order": ("我的快递怎么还没到", "物流怎么{一直|老是}这样？", "快递{到哪了|到哪儿了}", "{都|已经}<num>天了{还没到|物流没更新}"),
    "screenshot_after_sales_order": ("我的售后到哪一步了？", "售后{怎么样了|进度呢}", "{退货|退款}进度帮我看下", "售后单<order>{什么情况|怎么样了}"),
    "screenshot_text_message": ("收到这个短信是什么意思", "这个短信是你们发的吗？", "这条短信{怎么回事|啥意思}"),
    "screenshot_user_comment": ("我{已经|}评价了", "评价{好了|写好了}你看下", "这是我的评价[，{返现呢|有返现吗}]"),
    "screenshot_system_software": ("APP{一直|老是}这样怎么办？", "软件{出问题了|打不开了}", "这个怎么{弄|解决}"),
    "screenshot_other": ("这个券怎么用？", "这个{优惠券|券}能用吗", "领了这个券[，{怎么|咋}用不了]"),
}
_SECOND_SCREEN = {
    "screenshot_product_order": "screenshot_logistics_order",
    "photo_user_screen": "screenshot_logistics_order",
    "screenshot_logistics_order": "screenshot_text_message",
    "screenshot_after_sales_order": "screenshot_text_message",
    "screenshot_text_message": "screenshot_logistics_order",
    "screenshot_user_comment": "screenshot_product_order",
    "screenshot_system_software": "screenshot_other",
    "screenshot_other": "screenshot_product_order",
}


def _screen_facts(s: Script, category: str, sku: Sku, colour: str) -> dict[str, str]:
  out = {}
  for name in F.IMAGE_FACTS[category]:
    out[name] = {"product": sku.product, "colour": colour}.get(name) or _draw(s, F.fact_values(name, sku.shop_type))
  return out


def _status_fact(category: str) -> str:
  return [n for n in F.IMAGE_FACTS[category] if n not in ("product", "colour")][0]


_SCREEN_LEADS = ("", "", "{我看了下，|从截图{看|上看}，|{截图|图片}收到了，|核实了一下，}", "<ok>，{我看到了，|}")
_SCREEN_FOLLOWS = ("{那|}怎么办[啊|呢]？", "{好吧|哦}，那{麻烦你了|辛苦了}", "能{快点|快一点}吗？[我等着用]", "然后呢[？]",
                   "{那|}{要|得}{等多久|多久}？", "{是不是|是}{你们|快递}的问题？", "{我|}{需要|要}{做|弄}什么吗？")
_SCREEN_PROMISES = ("{好的|<ok>}，{我这边|我}给您<action>，有进展第一时间{通知|告诉}{您|<you>}<p>",
                    "{没问题|可以的}，{马上|现在就}为您<action><p>", "{明白|了解}，{这边|我}{先|}{帮您|给您}<action>，{请|麻烦}{您|}留意{消息|短信}<p>")
_SECOND_SCREEN_ASKS = ("还有这个", "对了，这个{呢|是什么}？", "另外这个是什么情况", "{还有|另外}{一个|个}问题，{这个|这}{怎么回事|什么意思}")


def screens(s: Script, category: str, sku: Sku, degraded: bool) -> Outcome:
  colour = s.pick(sku.colours)
  s.add_image("s1", category, _screen_facts(s, category, sku, colour), degraded)
  fact = _status_fact(category)
  key = f"s1.{fact}"
  open_edu = opening(s)
  text, kind = query_text(s, _SCREEN_QUERY[category])
  t, img, query_messages = query(s, "s1", text, open_edu, "elaboration" if open_edu is not None else None)
  greeting = greeting_part(s, open_edu) if open_edu is not None else None
  if degraded:
    img = retake(s, "s1", img, greeting)
    greeting = None
  if s.chance(0.35):
    parts = ([greeting] if greeting else []) + [(s.x(s.pick(_ORDER_NUMBER_ASKS)), img, "request")]
    (ask,) = s.say(True, *parts)[-1:]
    (img,) = s.say(False, (s.cx(s.pick(_ORDER_NUMBERS)), ask, "affirmation"))
    greeting = None
  reply, action = _STATUS_REPLY[fact][s.value(key)]
  s.topic = (_topic(category, F.fact_word(fact, s.value(key))), [key])
  parts = ([greeting] if greeting else []) + [(s.x(s.pick(_SCREEN_LEADS) + reply + "<p>"), img, "elaboration", [key])]
  if s.chance(0.3):
    parts.append((s.x("{您别着急|请您放心|我这边帮您盯着|<you>别急}，"), -1, "feedback"))
  ids = s.say(True, *parts)
  last = customer_feedback(s, ids[-1], 0.3)
  follow_text = s.cx(s.pick(_SCREEN_FOLLOWS))
  (follow,) = s.say(False, (follow_text, last, _question_relation(follow_text)))
  action_text = s.x(action)
  (promise,) = s.say(True, (s.x(s.pick(_SCREEN_PROMISES), action=action_text), follow,
                            "promise" if s.chance(0.2) else "affirmation", [key]))
  last, extra = promise, s.x("")
  if s.chance(P_SECOND_IMAGE):
    cat2 = _SECOND_SCREEN[category]
    s.add_image("s2", cat2, _screen_facts(s, cat2, sku, colour))
    fact2 = _status_fact(cat2)
    (q2,) = s.say(False, (s.cx(s.pick(_SECOND_SCREEN_ASKS)), promise, "coordinate"))
    img2 = s.show("s2", q2, picture_relation(s, "s2"))
    reply2, _ = _STATUS_REPLY[fact2][s.value(f"s2.{fact2}")]
    (last,) = s.say(True, (s.x(s.pick(_SCREEN_LEADS) + reply2 + "<p>"), img2, "elaboration", [f"s2.{fact2}"]))
    extra = s.x("，{另|还}{咨询|询问}了<t2>", t2=_topic(cat2, F.fact_word(fact2, s.value(f"s2.{fact2}"))))
    extra.uses |= {f"s2.{fact2}"}
  last = wrap_up(s, last, s.x("<action>，有进展会{通知|告诉}您", action=action_text), [key])
  closing(s, last)
  word = F.fact_word(fact, s.value(key))
  topic = _topic(category, word)
  summary = s.x(s.pick(("{顾客|用户}{发截图|发图}{咨询|询问}<topic>，客服{解释|说明}{原因|情况}后{承诺|答应}<action><extra>。",
                        "{顾客|用户}{反映|反馈}<topic>{并发了截图|}，客服说明情况并<action><extra>。")),
                topic=topic, action=action_text, extra=extra)
  summary.uses |= {key} | extra.uses
  rewrite = s.x("<lead><word>，{怎么回事|怎么办|什么意思|要怎么处理}？", lead=s.pick(_REWRITE_LEAD[category]), word=word)
  can = not degraded and kind != "intentless"
  return Outcome(summary, query_messages, can, rewrite if can else "", kind, frozenset(summary.uses))


_REWRITE_LEAD = {
    "screenshot_product_order": ("我的订单显示", "订单状态是"),
    "photo_user_screen": ("我手机上订单显示", "订单页面显示"),
    "screenshot_logistics_order": ("我的快递显示", "物流显示"),
    "screenshot_after_sales_order": ("我的售后单显示", "售后进度是"),
    "screenshot_text_message": ("我收到一条", "手机收到了"),
    "screenshot_user_comment": ("我给了", "我的评价是"),
    "screenshot_system_software": ("APP提示", "软件显示"),
    "screenshot_other": ("我领了一张", "我有一张优惠券"),
}

_TOPIC = {
    "screenshot_product_order": "订单{}",
    "photo_user_screen": "订单{}",
    "screenshot_logistics_order": "物流{}",
    "screenshot_after_sales_order": "售后{}",
    "screenshot_text_message": "收到{}短信",
    "screenshot_user_comment": "给了{}评价",
    "screenshot_system_software": "APP{}",
    "screenshot_other": "{}优惠券的用法",
}


def _topic(category: str, word: str) -> str:
  """The topic phrase of a screen's fact word: 物流{} + 已揽收 -> 物流已揽收, + 物流异常 -> 物流异常."""
  before, _, after = _TOPIC[category].partition("{}")
  return (word if before and word.startswith(before) else before + word) + after
