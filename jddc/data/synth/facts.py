"""The latent facts of the embedded corpus: what an image shows and the dialogue depends on.

Each image is drawn from (image category, facts), where `facts` maps a fact name to a
value id from the tables below. The dialogue generator verbalises the same ids with the
Chinese words given here, so text, image and annotations agree by construction.

Which facts each category's image shows is `IMAGE_FACTS[category]`.
"""

from __future__ import annotations

# Products per shop type: id -> Chinese name. Each has its own silhouette in the images.
PRODUCTS = {
    "home_appliances": {
        "rice_cooker": "电饭煲",
        "air_fryer": "空气炸锅",
        "kettle": "电水壶",
        "hair_dryer": "吹风机",
        "blender": "榨汁机",
        "fan": "电风扇",
    },
    "fashion": {
        "sneakers": "运动鞋",
        "jeans": "牛仔裤",
        "tshirt": "T恤",
        "dress": "连衣裙",
        "jacket": "外套",
        "backpack": "双肩包",
    },
}
# The measure word (量词) of each product: 一台电饭煲, 一件连衣裙, 一双运动鞋, 一条牛仔裤.
MEASURE_WORDS = {
    "rice_cooker": "台", "air_fryer": "台", "kettle": "个", "hair_dryer": "个", "blender": "台", "fan": "台",
    "sneakers": "双", "jeans": "条", "tshirt": "件", "dress": "件", "jacket": "件", "backpack": "个",
}
# How a product is used: 用 an appliance, 穿 clothes and shoes, 背 a backpack.
USE_VERBS = {p: "用" for p in ("rice_cooker", "air_fryer", "kettle", "hair_dryer", "blender", "fan")}
USE_VERBS.update(sneakers="穿", jeans="穿", tshirt="穿", dress="穿", jacket="穿", backpack="背")
PRODUCT_SHOP = {p: shop for shop, ps in PRODUCTS.items() for p in ps}
PRODUCT_NAMES = {p: name for ps in PRODUCTS.values() for p, name in ps.items()}

# Colour id -> (Chinese name, RGB).
COLOURS = {
    "red": ("红色", (200, 30, 40)),
    "black": ("黑色", (25, 25, 28)),
    "white": ("白色", (240, 240, 236)),
    "blue": ("蓝色", (40, 80, 200)),
    "green": ("绿色", (40, 150, 60)),
    "yellow": ("黄色", (235, 200, 30)),
    "pink": ("粉色", (240, 140, 180)),
    "grey": ("灰色", (128, 128, 128)),
}

# Damage on the product's surface, and where on the product it is.
DEFECTS = {"crack": "裂痕", "scratch": "划痕", "stain": "污渍", "hole": "破洞", "dent": "凹陷"}
PLACES = {
    "upper_left": "左上角",
    "upper_right": "右上角",
    "lower_left": "左下角",
    "lower_right": "右下角",
    "center": "中间",
}

# What a malfunction photo shows, per shop type.
FAULTS = {
    "home_appliances": {
        "red_light": "红灯常亮",
        "no_light": "指示灯不亮",
        "code_e1": "显示E1",
        "code_e3": "显示E3",
        "smoke": "冒烟",
    },
    "fashion": {
        "zipper_broken": "拉链坏了",
        "sole_detached": "开胶",
        "seam_split": "开线",
        "button_missing": "掉扣子",
        "fading": "掉色",
    },
}

# Accessories that come in the box; a missing-items photo lays out all but one.
ACCESSORIES = {
    "home_appliances": {"power_cord": "电源线", "manual": "说明书", "measuring_cup": "量杯", "filter": "滤网"},
    "fashion": {"laces": "鞋带", "belt": "腰带", "tag": "吊牌", "dust_bag": "防尘袋"},
}

# Parts an installation photo points at (an arrow and a highlight ring).
PARTS = {
    "home_appliances": {"base": "底座", "lid": "盖子", "handle": "把手", "plug": "插头"},
    "fashion": {"hood": "帽子", "strap": "肩带", "zipper": "拉链", "pocket": "口袋"},
}

# Screenshot states. Progress-like states are drawn as that many filled steps.
ORDER_STATUS = {"unpaid": "待付款", "to_ship": "待发货", "shipped": "已发货", "completed": "已完成"}
LOGISTICS_STATUS = {
    "picked_up": "已揽收",
    "in_transit": "运输中",
    "delivering": "派送中",
    "delivered": "已签收",
    "exception": "物流异常",
}
AFTER_SALES_STATUS = {"reviewing": "审核中", "approved": "审核通过", "rejected": "已驳回", "refunded": "退款完成"}
SMS_KINDS = {"pickup_code": "取件通知", "refund_notice": "退款到账", "shipping_notice": "发货通知", "verification": "验证码"}
STARS = {"1": "一星", "2": "二星", "3": "三星", "4": "四星", "5": "五星"}
APP_ERRORS = {"payment_failed": "支付失败", "login_failed": "无法登录", "blank_page": "页面空白", "coupon_invalid": "优惠券不可用"}
COUPONS = {"5": "5元", "10": "10元", "20": "20元", "50": "50元"}

# Image category -> the facts its image shows. `colour_right` is the second product's colour.
IMAGE_FACTS: dict[str, tuple[str, ...]] = {
    "screenshot_product": ("product", "colour"),
    "screenshot_product_order": ("product", "colour", "order_status"),
    "screenshot_logistics_order": ("logistics_status",),
    "screenshot_after_sales_order": ("after_sales_status",),
    "screenshot_text_message": ("sms_kind",),
    "screenshot_user_comment": ("stars",),
    "screenshot_system_software": ("app_error",),
    "screenshot_other": ("coupon",),
    "photo_purchase_consultation": ("product", "colour"),
    "photo_damaged_appearance": ("product", "colour", "defect", "place"),
    "photo_malfunction": ("product", "colour", "fault"),
    "photo_missing_items": ("product", "missing"),
    "photo_recommendation_comparison": ("product", "colour", "colour_right"),
    "photo_installation": ("product", "part"),
    "photo_user_screen": ("order_status",),
}


def fact_values(name: str, shop_type: str) -> dict[str, str]:
  """The value ids of fact `name` for a shop type, mapped to their Chinese words."""
  table = {
      "product": PRODUCTS[shop_type],
      "colour": {k: v[0] for k, v in COLOURS.items()},
      "colour_right": {k: v[0] for k, v in COLOURS.items()},
      "defect": DEFECTS,
      "place": PLACES,
      "fault": FAULTS[shop_type],
      "missing": ACCESSORIES[shop_type],
      "part": PARTS[shop_type],
      "order_status": ORDER_STATUS,
      "logistics_status": LOGISTICS_STATUS,
      "after_sales_status": AFTER_SALES_STATUS,
      "sms_kind": SMS_KINDS,
      "stars": STARS,
      "app_error": APP_ERRORS,
      "coupon": COUPONS,
  }
  return table[name]


def fact_word(name: str, value: str) -> str:
  """The Chinese word for a fact value (independent of shop type: value ids are unique)."""
  for shop in ("home_appliances", "fashion"):
    words = fact_values(name, shop)
    if value in words:
      return words[value]
  raise KeyError(f"unknown value {value!r} for fact {name!r}")
