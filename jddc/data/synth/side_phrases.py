"""Wording of the side exchanges (`side_exchanges.py`): paraphrase patterns (`phrasing`) per move.

A `SideTopic` is something customers ask about beside their problem (refund time, invoice,
shipping fee...): the customer's questions, the agent's answers with the relation each
answer bears to its question, and what may follow (an elaboration, a concession, a
clarifying question first, a follow-up question). `<P.product>` in a pattern stands for the
product of the session's picture (replaced by the image slot that shows it).

Session kinds: "after" (after-sales photo), "pre" (pre-sales picture), "screen" (screenshot); a
topic's `kinds` may also name a main picture's category (a topic of some screenshots only).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

ALL_KINDS = frozenset({"after", "pre", "screen"})
# Order and logistics states in which an order can still be changed, and in which it has gone.
ORDER_OPEN = frozenset({"unpaid", "to_ship"})
ORDER_GONE = frozenset({"shipped", "completed", "picked_up", "in_transit", "delivering", "delivered", "exception"})
# Screenshots of an order or its parcel.
ORDER_SCREENS = frozenset({"screenshot_product_order", "photo_user_screen", "screenshot_logistics_order"})


@dataclasses.dataclass(frozen=True)
class SideTopic:
  name: str
  gist: str  # what the question asks, as the agent would say it back ("退款什么时候到账")
  kinds: frozenset
  asks: tuple  # (relation, customer pattern): the question
  answers: tuple  # (relation, agent pattern[, fact values]): the answer, where a fact shown has one of the values
  more: tuple = ()  # (relation, agent pattern): an EDU on the answer
  clarify: Optional[tuple] = None  # (relation, agent question, customer reply, reply relation)
  follow: Optional[tuple] = None  # (relation, customer follow-up, answer relation, agent answer)
  lookup: bool = False  # the agent checks (suspend) before answering
  agreed: Optional[str] = None  # in after-sales sessions: fits only if what was agreed matches this regex
  shop: Optional[str] = None  # only for this shop type
  needs_product: bool = False


TOPICS = (
    SideTopic(
        "refund_time", gist="{退款|钱}{什么时候|多久}{能|}到账",
        kinds=frozenset({"after", "screenshot_after_sales_order"}), agreed=r"退|补偿|款",
        asks=(("5w1h", "{退款|钱}{大概|}{什么时候|多久|几天}{能|可以|}{到账|退回来|到}？"),
              ("yes_no", "{退款|钱}{今天|这周}{能|可以}到账吗？")),
        answers=(("affirmation", "{退款|款项}{审核通过后|}{会|}{原路退回|退回到您的支付账户}，{一般|通常|预计}<num>{个工作日|天}{内|左右}到账<p>"),
                 ("affirmation", "{退款|钱}{已经|}{提交|申请}{成功|好}了，<date>{之前|前}{会|}到账<p>"),
                 ("hold", "{具体|到账}时间{要看|得看}{银行|支付渠道}{那边|}的{处理速度|进度}<p>")),
        more=(("elaboration", "到账{后|了}{会有|系统会发}{短信|消息}{通知|提醒}您"),
              ("concession", "{不过|但是}{周末|节假日}{可能|会}{顺延|晚一点}[哦]"),
              ("background", "{最近|这几天}{退款|售后}{比较多|量大}，{审核|处理}{会|}{慢一些|稍慢}"),
              ("condition", "{如果|要是}<num>{个工作日|天}{后|}{还没到账|没收到}，{您|}{再|}{联系|找}我们")),
        clarify=("5w1h", "{请问|}<you>{当时|}是用{什么|哪种}方式{付款|支付}的{呢|}？", "{微信|支付宝|银行卡|白条}{付的|支付的|}", "affirmation"),
        follow=("yes_no", "{能|可以}{退到|退回}{余额|微信}{里|}吗？", "deny", "{只能|都是}原路退回的<p>，{退不到|不能退到}{余额|别的账户}"),
        lookup=True),
    SideTopic(
        "shipping_fee", gist="{寄回的|退回的|}运费{谁出|谁来承担}", kinds=frozenset({"after"}), agreed=r"换|退|寄回|维修|检修",
        asks=(("yes_no", "{寄回去的|退回的|来回的}运费{你们出吗|是你们承担吧|能报销吗}？"),
              ("5w1h", "运费{谁出|怎么算}？")),
        answers=(("affirmation", "[放心，]运费{我们|商家}{承担|来出}<p>"),
                 ("affirmation", "{运费|来回运费}{不用|不需要}{您|}{出|承担}<p>，{我们|店铺}{来|}{承担|出}")),
        more=(("elaboration", "{快递|取件的}{上门|来取}的时候{不用|不需要}{付钱|付运费}"),
              ("concession", "{不过|但}{要|需要}{保证|保持}{商品|包装}{完好|完整}[哦]")),
        follow=("yes_no", "{我|}自己寄{也行吗|可以吗}？", "affirmation", "{也|}可以的，{您先垫付|先垫一下}运费，{签收后|收到后}{给您|}{返|补}<money>")),
    SideTopic(
        "invoice", gist="{怎么|能不能}开发票", kinds=ALL_KINDS,
        asks=(("yes_no", "{能|可以}开{发票|电子发票}吗？"), ("5w1h", "发票{在哪|怎么}{开|下载}？")),
        answers=(("affirmation", "{订单完成后|确认收货后}在{订单详情|我的订单}{里|}{就能|可以}{申请|下载}{电子发票|发票}<p>"),),
        more=(("elaboration", "电子发票和纸质的{效力|作用}{一样|相同}，{报销|入账}{都能用|没问题}"),
              ("concession", "{不过|但是}纸质发票{需要|要}{单独|另外}{邮寄|寄出}，{会|}{慢一点|晚几天}")),
        clarify=("choice", "<you>是要{个人|普通}发票还是{公司|单位}{抬头|}的{增值税|}发票{呢|}？",
                 "{公司的|单位报销用的|个人的就行|开公司的吧}", "affirmation"),
        follow=("yes_no", "{抬头|发票抬头}{能|可以}写公司吗？", "affirmation",
                "可以的，{填写|提供}{公司名称|单位名称}和{税号|纳税人识别号}{就行|即可}")),
    SideTopic(
        "delivery_time", gist="{什么时候|哪天}能{送到|收到}",
        kinds=frozenset({"after", "pre"}) | ORDER_SCREENS,
        agreed=r"换|补发",
        asks=(("5w1h", "{大概|}{什么时候|几号|哪天}{能|可以}{到|送到|收到}？"), ("yes_no", "{明天|今天|周末}能{到|送到}吗？")),
        answers=(("affirmation", "{预计|大概|正常}<date>{能|可以}{送到|到}<p>"),
                 ("affirmation", "{正常|一般}{发货后|}<num>{天|个工作日}{左右|内}{就能|能}{到|送到}<p>"),
                 ("hold", "{具体|送达}时间{要看|得看}{快递|物流}{那边|}的{安排|进度}<p>")),
        more=(("elaboration", "{配送前|送货前}{快递员|配送员}会{提前|}{打电话|联系您}<p>"),
              ("concession", "{不过|但}{偏远地区|您那边}{可能|会}{晚|慢}<num>天"),
              ("cause", "{因为|}{最近|这几天}{是|}{大促|活动}{期间|}，{快递|物流}{比较慢|有延迟}")),
        clarify=("5w1h", "{您|亲，您}的收货地址是在{哪个城市|哪里}{呢|}？", "{在|寄到|送到}<addr>", "affirmation"),
        follow=("yes_no", "{能|可以}{放|寄到}{驿站|快递柜}吗？", "affirmation", "可以的，{我|}{给您|帮您}备注{放|投}{驿站|快递柜}"),
        lookup=True),
    SideTopic(
        "address", gist="{收货|}地址{能不能改|怎么改}", kinds=ORDER_SCREENS,
        asks=(("yes_no", "{收货|}地址{能改吗|能不能改一下|写错了还能改吗}？"),),
        answers=(("affirmation", "{可以的|能改的}，{订单|}{还没出库|还没发货}，{能|可以}{帮您|给您}{修改|改}", ORDER_OPEN),
                 ("deny", "{订单|包裹}{已经|}{出库|发出}了<p>，地址{改不了|没法改}了", ORDER_GONE)),
        more=(("suggestion", "{建议|您可以}{联系|打给}配送员，{让他|请他}{改派|转到}<site>"),
              ("elaboration", "{改好后|修改后}{会|}{按新地址|按新的地址}{配送|发货}")),
        clarify=("request", "{麻烦|请}<you>{发一下|提供一下}新的{收货|}地址[哦]", "{新地址是|改成|}<addr>", "suggestion_acceptance"),
        lookup=True),
    SideTopic(
        "warranty", gist="{保修|质保}{多久|几年}", kinds=frozenset({"after", "pre"}), shop="home_appliances",
        asks=(("5w1h", "{保修|质保}{多久|几年}？"), ("yes_no", "{以后|}坏了{能|可以}保修吗？")),
        answers=(("affirmation", "{整机|}{保修|质保}<num>年<p>，{凭|有}{订单|发票}{就能|就可以}{保修|售后}"),),
        more=(("concession", "{不过|但}{人为损坏|摔坏的}{不在|不属于}{保修范围|质保范围}[哦]"),
              ("cause", "{因为|}{我们|}{是|都是}{官方|品牌}{授权|正品}，{全国|各地}{联保|都能保修}"),
              ("elaboration", "{保修期内|质保期内}{维修|上门}{都是|}免费的")),
        follow=("5w1h", "{保修期|质保}从{哪天|什么时候}{开始|}算？", "affirmation",
                "{从|按}{签收|收货}{那天|的日期}{开始|}算<p>")),
    SideTopic(
        "washing", gist="{怎么洗|能不能机洗}", kinds=frozenset({"after", "pre"}), shop="fashion",
        asks=(("yes_no", "{能|可以}{机洗|用洗衣机洗}吗？"), ("5w1h", "{这个|}{怎么|要怎么}{洗|清洗}？")),
        answers=(("affirmation", "{建议|最好}{冷水|}手洗<p>，{水温|温度}不要超过<num>度"),),
        more=(("concession", "{机洗也可以|也能机洗}，{不过|但}{要|记得}{装|放}洗衣袋"),
              ("elaboration", "{不要|别}{暴晒|用漂白剂}，{阴干|晾干}就好")),
        follow=("yes_no", "会{缩水|掉色}吗？", "deny", "{正常|按标签}洗{不会|一般不会}{缩水|掉色}的<p>")),
    SideTopic(
        "pickup", gist="{快递|取件}{什么时候|哪天}上门", kinds=frozenset({"after"}), agreed=r"换|退|寄回|维修|检修",
        asks=(("5w1h", "{快递|取件的}{什么时候|几点|哪天}{上门|来取}？"), ("yes_no", "{能|可以}上门取件吗？")),
        answers=(("affirmation", "{提交后|审核通过后}<num>{小时|个工作日}内{快递员|取件员}会{上门|联系您}<p>"),),
        more=(("elaboration", "{取件前|上门前}{会|}{先|}{打|给您打}电话<p>"),
              ("concession", "{不过|但}{周末|节假日}{上门|取件}{可能|会}{晚一点|顺延}")),
        clarify=("5w1h", "<you>{哪天|什么时间}方便{在家|取件}{呢|}？",
                 "{<date>|明天|后天}{<time>|下午|上午}{以后|之后|都}{在家|行|可以}", "affirmation"),
        follow=("yes_no", "{要|需要}{把|}{盒子|包装|原包装}{也|}{一起|}寄回吗？", "affirmation", "{是的|对}，{包装|配件}{要|需要}{一起|齐全}寄回<p>"),
        lookup=True),
    SideTopic(
        "cancel", gist="订单{能不能|还能不能}取消", kinds=frozenset({"screenshot_product_order", "photo_user_screen"}),
        asks=(("yes_no", "{这单|订单}{还能|能不能}取消{吗|}？"),),
        answers=(("affirmation", "订单{还没发货|还没出库}，{可以|能}{直接|}取消<p>，{取消后|}{钱|款}{原路|}退回", ORDER_OPEN),
                 ("deny", "{订单|}{已经|}{发货|出库}了，{就|}{取消不了|没法取消}了<p>", ORDER_GONE)),
        more=(("suggestion", "{您可以|建议您}{拒收|收到后申请退货}"),
              ("elaboration", "{退款|钱}{会|}原路退回，<num>{个工作日|天}{内|左右}到账")),
        clarify=("5w1h", "{请问|}是{哪个|哪一个}订单{呢|}？", "{是|就是|}<order>{这个|这单|}", "affirmation"),
        lookup=True),
    SideTopic(
        "price", gist="{有没有|能不能有}优惠", kinds=frozenset({"pre"}),
        asks=(("yes_no", "{能|可以}便宜{点|一点|些}吗？"), ("yes_no", "{有|还有}{优惠券|优惠|活动}吗？")),
        answers=(("deny", "{这个|现在的}价格{已经|}是{活动价|最低价|最优惠的}了<p>"),
                 ("affirmation", "{有的|有的亲|有}，{店铺首页|详情页}{可以|能}领<money>的{优惠券|券}")),
        more=(("concession", "{不过|但}{关注店铺|入会}{能|可以}{再|}领{一张|}<money>的券"),
              ("cause", "{因为|}{现在|这几天}{是|正好是}{活动|促销}{期间|价}，{已经|}{降|便宜}了<money>"),
              ("elaboration", "{满|买满}<money>{还|}{能|可以}减<money>")),
        follow=("yes_no", "{降价了|以后便宜了}{能|可以}{保价|退差价}吗？", "affirmation",
                "{支持|可以}{价保|保价}的，<num>天内{降价|}{能|可以}{申请|}退差价")),
    SideTopic(
        "buy_more", gist="多买{有没有|能不能}优惠", kinds=frozenset({"pre"}), needs_product=True,
        asks=(("yes_no", "{再|多}{买|拿}{一|两}<P.product#mw>{能|有}{优惠|便宜点}吗？"),),
        answers=(("affirmation", "{可以的|有的}，{第二<P.product#mw>|买两<P.product#mw>的话第二<P.product#mw>}{打九折|九折}<p>"),
                 ("deny", "{这款|这<P.product#mw><P.product>}{没有|暂时没有}{多买|多件}优惠<p>")),
        more=(("concession", "{不过|但}{可以|能}{用|叠加}店铺{优惠券|券}"),)),
    SideTopic(
        "size", gist="{选|穿}{什么|哪个}{码|尺码}", kinds=frozenset({"pre"}), shop="fashion",
        asks=(("5w1h", "{我|}{身高|}<num>{公分|cm}，{体重|}<num>斤{穿|选}{什么|哪个}{码|尺码}？"),),
        answers=(("affirmation", "{建议|}{您|}{选|拿}<num>码{就行|}<p>"),
                 ("recommend", "{给您推荐|推荐您}{选|拿}<num>码，{比较|}{合身|宽松}{一点|}")),
        more=(("elaboration", "{详情页|商品页}{有|里有}尺码表，{可以|}{对照|参考}{一下|}"),),
        clarify=("5w1h", "<you>{平时|一般}穿{什么|多大的}{码|尺码}{呢|}？", "{平时|一般}穿<num>{码|的}", "affirmation"),
        follow=("yes_no", "{偏大|偏小}吗？", "deny", "{正常|标准}尺码{的|}，{不偏大|不会偏小}<p>")),
    SideTopic(
        "first_use", gist="第一次用{要不要|需不需要}{先|}清洗", kinds=frozenset({"after", "pre"}), shop="home_appliances",
        asks=(("yes_no", "{第一次用|新买的}{要|需要}{先|}{清洗|洗一下}吗？"),),
        answers=(("affirmation", "{是的|对}，{第一次使用前|首次使用前}{用清水|}{清洗|洗}{一遍|一下}{就好|就行}<p>"),),
        more=(("elaboration", "{擦干|晾干}{以后|后}{再|}{通电|插电}{使用|}"),),
        follow=("yes_no", "{能|可以}{放|进}洗碗机吗？", "deny", "{不建议|不能}{放|进}洗碗机<p>，{手洗|擦干净}{就行|就好}")),
    SideTopic(
        "parcel_where", gist="{快递|包裹}{到哪了|现在在哪}", kinds=ORDER_SCREENS,
        asks=(("5w1h", "{快递|包裹}{到|走到}哪{了|儿了}？"), ("yes_no", "{快递|包裹}{发出来|寄出}了吗？")),
        answers=(("deny", "订单还没{付款|支付}{哦|呢}，{付款|支付}后{才|}{会|能}发货", frozenset({"unpaid"})),
                 ("deny", "{还没发货|还在仓库}{呢|}，<date>前{会|}{发出|给您发出}", frozenset({"to_ship"})),
                 ("affirmation", "{已经|}到<site>了，{正在|}{发往|转运到}您{那边|所在的城市}<p>",
                  frozenset({"shipped", "picked_up", "in_transit"})),
                 ("affirmation", "{快递员|配送员}{正在|已经在}派送了，{今天|}{就能|能}送到<p>", frozenset({"delivering"})),
                 ("affirmation", "显示{已经|}签收了，{您|}看下{是不是|}{家人|驿站|门卫}代收了", frozenset({"delivered", "completed"})),
                 ("hold", "物流{显示|有}异常，{我|}{先|}{帮您|}{联系|催}快递{核实|处理}一下", frozenset({"exception"}))),
        more=(("elaboration", "{您|}{可以|也能}在{订单详情|我的订单}{里|}{看|查看}物流<p>"),
              ("cause", "{因为|}{中转|转运}{需要|要}{一点|}时间，{所以|}{更新|显示}{得|}{慢一些|晚一点}")),
        clarify=("request", "{麻烦|}{发|提供}一下{订单号|单号}<p>", "{单号|订单号|}<order>", "suggestion_acceptance"),
        lookup=True),
    SideTopic(
        "phone", gist="能不能{电话联系|打电话}", kinds=frozenset({"after", "screen"}),
        asks=(("yes_no", "{能|可以}{给个|留个}电话吗？"), ("yes_no", "{能|可以}{打电话|电话}{跟我说|联系我}吗？")),
        answers=(("deny", "{不好意思|抱歉}，{我们|}{没有|不提供}{电话|外呼}服务<p>"),
                 ("affirmation", "可以的，{稍后|<time>前}{专员|售后}{会|}{给您|}{回电|打电话}<p>")),
        more=(("elaboration", "{有问题|有什么问题}{在这里|直接}{留言|找我}{就行|就好}"),)),
)

# Questions about the session's own solution, asked later (a thread taken up again), per kind.
MAIN_FOLLOWUPS = {
    "after": (("5w1h", "{那|}{刚才|之前}说的{那个|}{处理|}{多久|什么时候}能{好|弄好|办好}？"),
              "affirmation", "{提交后|登记后}<num>{个工作日|天}内{处理好|给您回复}<p>"),
    "pre": (("yes_no", "{那|}{现在|今天}{拍|下单}{今天|}能发吗？"),
            "affirmation", "<time>前{拍下|付款}{当天|今天}{就|}{发货|发出}<p>"),
    "screen": (("yes_no", "{那|}我{还要|需要}{做什么|操作什么}吗？"),
               "deny", "{不用的|不需要}，{您|}{等|留意}{短信|通知}就好<p>"),
}
# A customer saying again, in their own words, what the agent just said.
RESTATE = {
    "after": "{也就是说|意思是|那就是}{我|}{等着就行|什么都不用做|等通知就行}{是吧|对吧|吗}？",
    "pre": "{也就是说|意思是}{现在拍|今天下单}{就能发|马上发}{是吧|对吧}？",
    "screen": "{就是说|意思是}{我|}{不用管|等着就行}{是吧|对吧|吗}？",
}
CONFIRM_RESTATEMENT = "{是的|对的|没错|对|嗯嗯，是的|对，就是这个意思}<p>"

WAIT = "{<wait><tail>|{我|}{帮您|给您|}{查一下|看一下|核实一下|查询下}<tail>}"
WAIT_CUSTOMER = "{好|嗯|好的|嗯嗯|行|麻烦{快点|你了}}"
OK_AGENT = "{<ok>|好的|收到|嗯嗯|好的呢|明白}"
FEEDBACK_CUSTOMER = "{哦哦|嗯嗯|好的|哦|明白了|知道了|好吧}"
ASK_LEAD = "[{请问|问一下|想问下|我想问下|那|另外}，]"
SECOND_QUESTION_LEAD = "{还有|另外|还有就是|再问下|顺便问下}，"
NEW_THREAD_LEAD = "{对了|哦对了|还有个事|另外想问下|还有一个问题|差点忘了}，"

CONTACT = "{在吗|人呢|还在吗|客服|有人吗|怎么不说话了|hello}？"
CONFIRM = "{在的<p>|在呢|我在<p>|在的在的}"
SORRY_WAIT = "{<sorry>|让您久等了|不好意思久等了}，{刚才|}在{帮您|}{查询|核实|处理}{呢|}"

CAUSE_ASK = "{为什么|怎么}{会|}{这样|出这种问题|这样子}？"
PRE_CAUSE_ASK = "{怎么|为什么}比{别家|实体店}{贵|还贵|贵这么多}？"
# The agent's cause, per detail of the session (its main picture's category, or "pre").
CAUSE = {
    "photo_damaged_appearance": "{可能|估计|应该}是{运输途中|路上|快递}{挤压|磕碰|暴力分拣}{导致的|造成的}",
    "photo_malfunction": "{可能|估计}是{个别|少数}{产品|机器}{出厂|}{质检|品控}{有疏漏|没做到位}",
    "photo_missing_items": "{应该|可能}是{仓库|打包的时候}{漏装|漏放}了",
    "pre": "{因为|}{我们|}{是|都是}{正品|官方}{行货|渠道}，{有|带}{保修|售后}{的|}",
    "screenshot_logistics_order": "{最近|这几天}{是|}{大促|活动}期间，{单量|件量}{比较大|太多}，{所以|}{有点|}{延迟|慢}",
    "screenshot_product_order": "{最近|这几天}{是|}{大促|活动}期间，{仓库|订单}{比较忙|单量大}，{所以|}{发得|处理得}{慢了点|晚了}",
    "screenshot_after_sales_order": "{最近|这几天}{售后|退换货}{申请|单}{比较多|太多}，{审核|处理}{排队|慢了}",
    "screenshot_system_software": "{可能|应该}是{系统|服务器}{在升级|在维护|不稳定}{导致的|}",
}
HOLD_ASK = "{那|}{什么时候|多久}{能|可以}{有结果|处理好|给答复}？"
HOLD_ANSWER = "{这个|具体时间}{目前|暂时}{还|}{没法|不好}{确定|说}<p>，{要看|得等}{仓库|快递|审核}{那边|}的{结果|进度}"

# A customer's judgement of the agent's solution, per kind: (praise, complaint, the agent's concession).
EVALUATE = {
    "after": ("{{你们|这个}处理得{挺快的|还可以}|{你们|}效率{挺高的|还可以}|{服务|态度}{挺好的|不错}|这样{处理|安排}{还行|挺好}}",
              "{太麻烦了吧|这也太慢了|好麻烦啊|{你们|这}{效率|速度}{也太|真}{低|慢}了}",
              "{虽然|}{流程|手续}{是|}{多|麻烦}了{一点|点}，{但|不过}{这样|这样才}{能|可以}{保障|保证}您的{权益|利益}"),
    "pre": ("{{价格|这个价}{还挺|挺}{实惠|划算}的|{你们|客服}{回复|回得}{挺快|真快}{的|}}",
            "{{还是|}有点贵{啊|了}|{发货|这}也太慢了吧|{比|}别家{贵|贵了不少}}",
            "{虽然|}价格{高|贵}{一点|了点}，{但|不过}{质量|品质}{有保障|很好}{的|}"),
    "screen": ("{{你们|客服}{回复|处理得}{挺快|还挺及时}{的|}|{这样|}{挺好|还行}}",
               "{太慢了吧|等太久了|{怎么|咋}{这么|}慢{啊|}}",
               "{虽然|}{慢|晚}了{一点|点}，{但|不过}{我|这边}{会|}{一直|}{帮您|给您}{盯着|跟进}"),
}
EVALUATE_CONCEDE = "{不过|但}{能|只要能}{解决|处理好}就行"
# A customer's quick judgement of an answer, per the answer's relation.
EVALUATE_ANSWER = {
    "affirmation": "{那挺好|那还行|还行吧|那挺方便的|{这样|那}就好|{还挺|挺}{方便|省事}的}",
    "deny": "{那|}{也太|有点}{不方便|麻烦}了{吧|}",
    "hold": "{这样啊|}{那|}{也太|有点}慢了吧",
}
THANK_EVALUATION = "{谢谢|感谢}{您的|}{理解|支持|认可}<tail>"
APOLOGISE_TO_COMPLAINT = "<sorry>，{我们|}{会|一定}{改进|加快}的"

SUGGEST = {
    "after": ("{建议|}<you>{收到|签收}{货|包裹|快递}{的时候|时}{当面|先}{验货|检查一下}<p>",
              "{建议|麻烦}<you>{保留|留好}{包装|原包装}和{配件|发票}<p>"),
    "pre": ("{建议|}<you>{关注|收藏}{一下|}店铺，{上新|有活动}{会|}{第一时间|}通知<p>",
            "{建议|推荐}<you>{加购|搭配}{延保|运费险}{一起|}{买|拍}，{更|比较}{放心|划算}"),
    "screen": ("{建议|}<you>{保持手机畅通|留意手机短信}<p>", "{建议|}<you>{更新|升级}{一下|}APP{到最新版|}"),
}
ACCEPT = "{<ok>|好的|行|{好的|行}{知道了|明白了}}"
REJECT = "{不用了|算了|没必要吧|不用了吧}{，{我|}{自己|}{知道|心里有数}|，{挺|太}麻烦的|}"
AFTER_REJECT = "{好的|嗯嗯|<ok>}，{那|}{按您的意思来|就不用了}<p>"

# What a customer adds to their first message later on, per detail of the session: (relation, pattern).
COMPLETE = {
    "photo_damaged_appearance": (("completion", "{对了|还有|哦对}，外{包装|箱子}也{破了|压坏了}"),
                                 ("completion", "{对了|还有}，{我|}拆开{就|}是这样{的|}"),
                                 ("proof", "{我|}{有|拍了}开箱视频{的|}，{可以|能}{证明|作证}")),
    "photo_malfunction": (("completion", "{对了|还有}，{我|}{就|才}用了{一两次|没几次|几天}"),
                          ("proof", "{我|}{录了|拍了}{视频|小视频}，{可以|能}{发给你|给你看}"),
                          ("completion", "{对了|还有}，{我|}{是|}{按|照着}说明书{用的|操作的}")),
    "photo_missing_items": (("completion", "{对了|还有}，{盒子|包装}{是|}{好好的|完好的}{没拆过|}"),
                            ("proof", "{我|}{开箱|拆箱}{的时候|时}{拍了|录了}视频{的|}，{确实|真的}没有"),
                            ("completion", "{对了|还有}，{我|}{里里外外|}都{找过|翻过}了")),
    "photo_installation": (("completion", "{对了|还有}，说明书{我|}{也|}看了，{还是|}{不会|没看懂}"),),
    "pre": (("completion", "{对了|还有}，{我|}是{买来送人|送朋友}的"), ("completion", "{对了|还有}，{我|}{比较|有点}{着急|急着}{用|要}")),
    "screenshot_logistics_order": (("completion", "{对了|还有}，{我|}{已经|都}等了<num>天了"),
                                   ("completion", "{对了|还有}，{我|}{打过|打了}{快递|物流}电话{没人接|也没用}")),
    "screenshot_product_order": (("completion", "{对了|还有}，{我|}是<date>{下的单|拍的}"),),
    "photo_user_screen": (("completion", "{对了|还有}，{我|}是<date>{下的单|拍的}"),),
    "screenshot_after_sales_order": (("completion", "{对了|还有}，{我|}是<date>{申请的|提交的}"),),
    "screenshot_text_message": (("completion", "{对了|还有}，{短信|这条短信}是<date>{收到的|发来的}"),),
    "screenshot_system_software": (("completion", "{对了|还有}，{我|}{重启|卸载重装}{过|了}{也不行|还是这样}"),),
    "screenshot_user_comment": (("completion", "{对了|还有}，{评价|这个评价}是<date>{写的|发的}"),),
    "screenshot_other": (("completion", "{对了|还有}，{券|这张券}是<date>领的"),),
}
NOTED = "{好的|收到|<ok>}，{这个|}{我|}{也|}{给您|帮您}{备注|记录}{上|下来}了"

# Corrections of an earlier customer EDU: (a regular expression of what it says, the correction).
CORRECTIONS = (
    (r"\[订单x\]", "{不好意思|抱歉|哦}，{订单号|单号}{发错了|写错了}，{是|应该是}<order>"),
    (r"\[电话x\]", "{电话|手机号}{写错了|少了一位}，{是|应该是}<phone>"),
    (r"昨天.{0,2}(收到|拿到)", "{说错了|不对}，{是|应该是}{前天|<date>}{收到|到}的"),
    (r"前天.{0,2}(收到|拿到)", "{说错了|不对}，{是|应该是}{昨天|<date>}{收到|到}的"),
    (r"等了\[数字x\]天", "{不是|不对}，{是|应该是}{等了|}<num>天{了|}"),
)
AGENT_CORRECTION = "{不好意思|抱歉}，{刚才|}{说错了|打错了}，{是|应该是}<num>{个工作日|天}"
CORRECTION_NOTED = "{好的|收到|<ok>}，{已经|}{帮您|给您}{更正|修改|备注}{了|好了}"
SELF_CORRECTION = "{哦不对|不对不对|说错了}，{我是说|是}{后天|<date>|下周}"

# The agent's closing question; the summary line.
ANYTHING_ELSE = "{请问|}还有{其他|别的}{可以帮您的|问题|需要帮忙的}吗？"
SUMMARY = "{{跟您|}{确认|核对}一下|{再|}跟您确认下|{简单|}总结一下}{：|，}<summary>"
# How an agent reply names what the session is about (<topic>): forms before the reply, per kind
# ("answer": before answers only), and forms after a side topic's affirmative answer; a session
# uses each form at most twice.
ABOUT_ANY = ("{您|亲，您}<topic>的{问题|情况|事}，", "关于您<topic>的{问题|情况|事情}，")
ABOUT_KIND = {
    "after": ("{您|}<topic>{的问题|这件事}{我|这边}{已经|}{记下了|登记了}，",),
    "screen": ("{您|}<topic>{的问题|这件事}{我|这边}{已经|}{记下了|看到了}，",),
    "pre": (),
}
ABOUT_ANSWER = {"pre": ("您<topic>的话，",), "after": (), "screen": ()}
ABOUT_AFTER = {"after": ("，{和|跟}{您|}<topic>的{处理|售后}{不冲突|不影响}",), "pre": (), "screen": ()}

CUSTOMER_CONCEDE = "{虽然|}{有点|挺}{麻烦|闹心|无语}，{不过|但}{能处理就行|也能理解|也没办法}"
# Why a customer asks (an EDU after their question), per kind: (relation, pattern).
ASK_BACKGROUND = {
    "after": (("background", "{我|家里}{等着用|急着用}{呢|}"), ("background", "{之前|上次}{也|}{问过|问了}{一次|}{没说清楚|}")),
    "pre": (("background", "{过几天|下周}{就|}要{用|出门}"), ("purpose", "{想|打算}{买来|}{送人|当礼物}")),
    "screen": (("background", "{我|}{明天|这两天}{不在家|要出门}"), ("background", "{已经|都}{等了|过了}好几天了")),
}
ORDER_COMPLETION = "{就是|是}<order>{这个单|这单|那个订单}"
RESTATE_MORE = {
    "after": "{有进展|处理好了|办好了}{会|}{第一时间|马上}{通知|告诉}您",
    "pre": "{拍下|付款}后{就|}{安排|给您}{发货|发出}",
    "screen": "{有进展|有变化}{会|}{第一时间|马上}{通知|告诉}您",
}
# The agent checks it understood the question before answering.
RESTATE_QUESTION = "{您是想|您是要|亲是想|您的意思是}{问|了解}<gist>{对吧|是吗|对吗}？"
RESTATE_CONFIRMED = "{对|是的|嗯对|对对|是}"
# The agent needs the order before it can look.
REQUEST_ORDER = "{麻烦|请}{您|}{提供|发}一下{订单号|单号}[哦]，{我|}{帮您|}{查一下|看看}"
ORDER_GIVEN = "{单号|订单号|}<order>"
