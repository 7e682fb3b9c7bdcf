"""Build data/labels/event_pairs.jsonl: pairs of real posts labelled by reading as the same
incident (a retelling) or not (a look-alike: same topic, different place, company or people).

Each pair below was read in full; the note says why. Texts are copied into the output so the
benchmark (``python -m bench.events``) needs nothing outside the repository.

    python scripts/build_event_pairs.py DEMO_STORE_DB

DEMO_STORE_DB is the ``yuqing-data/store.db`` of a ``yuqing demo`` run (the demo posts' texts,
with their demo ids); the other posts come from ``../shared/data/wenzheng_posts.jsonl`` (or ``$YUQING_SHARED_DATA``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

SHARED = Path(os.environ.get("YUQING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "wenzheng_posts.jsonl"
OUT = Path(__file__).resolve().parents[1] / "data" / "labels" / "event_pairs.jsonl"

# (id a, id b, same incident?, note). Ids without a demo prefix are wenzheng_posts ids.
PAIRS: list[tuple[str, str, bool, str]] = [
    # -- retellings: the same incident told again, by the same or another person --------------
    ("fz12345_heichou:1163", "fz12345_heichou:1182", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1157", "fz12345_heichou:1187", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1147", "fz12345_heichou:1160", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1170", "fz12345_heichou:1183", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1175", "fz12345_heichou:1190", True, "洋里溪安全水系项目不按图纸施工"),
    ("fz12345_heichou:1166", "fz12345_heichou:1174", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1148", "fz12345_heichou:1154", True, "洋里溪安全水系项目偷工减料"),
    ("fz12345_heichou:1173", "fz12345_heichou:1175", True, "洋里溪安全水系项目不按图纸施工"),
    ("fz12345_heichou:1149", "fz12345_heichou:1164", True, "洋里溪安全水系项目豆腐渣工程"),
    ("fz12345_heichou:1170", "fz12345_heichou:1186", True, "洋里溪水系项目不按图纸施工"),
    ("tipdm2020c_fj3:264231", "tipdm2020c_fj3:287485", True, "A9市禧和路垃圾分拣中心"),
    ("tipdm2020c_fj3:215760", "tipdm2020c_fj4:3913", True, "珠江俪城公园一号31栋103麻将馆"),
    ("fz12345_heichou:735", "fz12345_heichou:741", True, "红星农场马洲支河夜间施工"),
    ("fz12345_heichou:736", "fz12345_heichou:737", True, "红星农场马洲支河施工噪音"),
    ("fz12345_heichou:494", "fz12345_heichou:498", True, "东升小区旁跃进河夜间施工"),
    ("tipdm2020c_fj3:233538", "tipdm2020c_fj3:240791", True, "A4区天健城工地夜间施工"),
    ("tipdm2020c_fj4:11996", "tipdm2020c_fj4:12724", True, "星沙镇板桥小区夜宵一条街扰民"),
    ("tipdm2020c_fj3:204464", "tipdm2020c_fj3:281748", True, "新A1区之都佳苑违建"),
    ("fz12345_heichou:311", "fz12345_heichou:312", True, "福建团校到牛眠山巷龙津河半夜施工"),
    ("tipdm2020c_fj3:258617", "tipdm2020c_fj3:280425", True, "泉塘小塘路路灯太暗"),
    ("tipdm2020c_fj3:198493", "tipdm2020c_fj3:211453", True, "领东汇小区505室麻将馆"),
    ("tipdm2020c_fj3:212558", "tipdm2020c_fj3:261286", True, "驾校向应聘教练收押金"),
    ("fz12345_heichou:297", "fz12345_heichou:301", True, "首山路43号龙津河支流施工噪音"),
    ("fz12345_heichou:1253", "fz12345_heichou:1262", True, "南屿镇元峰河黑臭"),
    ("tipdm2020c_fj3:191111", "tipdm2020c_fj3:239190", True, "同一人对A市公交线路的建议"),
    ("fz12345_heichou:153", "fz12345_heichou:156", True, "金港河及万达边小河黑臭"),
    ("fz12345_heichou:1258", "fz12345_heichou:1261", True, "南屿镇元峰河黑臭"),
    ("tipdm2020c_fj3:273741", "tipdm2020c_fj3:289574", True, "泉星公园项目规划"),
    ("tipdm2020c_fj3:206733", "tipdm2020c_fj3:276992", True, "同一家庭小孩转学A市"),
    ("tipdm2020c_fj3:214543", "tipdm2020c_fj3:232217", True, "金桥国际设地铁站"),
    ("tipdm2020c_fj3:252493", "tipdm2020c_fj3:263525", True, "四方坪胜利社区185户拆迁分房"),
    ("tipdm2020c_fj3:262482", "tipdm2020c_fj3:271899", True, "山与墅小区东门通道"),
    ("tipdm2020c_fj3:226372", "tipdm2020c_fj3:283945", True, "A2区华庭楼顶水箱"),
    ("tipdm2020c_fj3:214289", "tipdm2020c_fj3:214731", True, "农商银行乔口支行乱扣月供"),
    ("tipdm2020c_fj3:211978", "tipdm2020c_fj3:264693", True, "圣力华苑出售人防车位"),
    ("fz12345_heichou:16", "fz12345_heichou:17", True, "梅峰河逢雨必堵"),
    ("tipdm2020c_fj3:225880", "tipdm2020c_fj3:272567", True, "领东汇小区505室麻将馆"),
    ("tipdm2020c_fj3:240551", "tipdm2020c_fj3:266213", True, "茶场村五组何时拆迁"),
    ("people_liuyan_fj2021:9356769", "people_liuyan_fj2021:8574406", True, "福清观音埔党校旁保利工地夜间施工"),
    ("tipdm2020c_fj3:216733", "tipdm2020c_fj3:278948", True, "老地方美食广场无消防证营业"),
    ("tipdm2020c_fj3:255516", "tipdm2020c_fj3:207677", True, "润泉山庄拖欠工钱"),
    ("fz12345_heichou:292", "fz12345_heichou:298", True, "首山路43号龙津河支流施工噪音"),
    ("fz12345_heichou:1251", "fz12345_heichou:1253", True, "南屿镇元峰河黑臭"),
    # demo corpus (issue 15: the mixing plant, the night works, the 梅峰河 blockage ...)
    ("demo:wenzheng-jiujiang:tipdm2020c_fj3:244335", "demo:wenzheng-jiujiang-web:u6c5a1ea2e7f8759e2f12", True, "丽发新城搅拌站灰尘噪音"),
    ("demo:wenzheng-jiujiang:tipdm2020c_fj3:244335", "demo:wenzheng-jiujiang-web:u0f7995193a3d093dc9e3", True, "丽发新城搅拌站灰尘噪音"),
    ("demo:wenzheng-jiujiang-web:u6c5a1ea2e7f8759e2f12", "demo:wenzheng-jiujiang-web:u0f7995193a3d093dc9e3", True, "丽发新城搅拌站"),
    ("demo:hotline-12345:GD2026000026", "demo:hotline-12345:GD2026000036", True, "东光花园旁泮洋河深夜施工"),
    ("demo:hotline-12345:GD2026000026", "demo:hotline-12345:GD2026000038", True, "东光花园旁泮洋河深夜施工"),
    ("demo:hotline-12345:GD2026000036", "demo:hotline-12345:GD2026000038", True, "东光花园旁泮洋河深夜施工"),
    ("demo:hotline-12345:GD2026000036", "demo:hotline-12345:GD2026000037", True, "东光花园旁泮洋河通宵施工"),
    ("demo:hotline-12345:GD2026000027", "demo:hotline-12345:GD2026000037", True, "泮洋河改造通宵施工扰民"),
    ("demo:hotline-12345:GD2026000050", "demo:hotline-12345:GD2026000051", True, "文藻河治理工地深夜施工"),
    ("demo:liuyan-jinan:7660604", "demo:liuyan-jinan:7528711", True, "塔头桂香新村工地夜间施工"),
    ("demo:wenzheng-replay:tipdm2020c_fj3:235516", "demo:wenzheng-replay:tipdm2020c_fj3:213186", True, "金地三千府拖欠农民工工资"),
    ("demo:hotline-12345:GD2026000010", "demo:hotline-12345:GD2026000012", True, "梅峰河下雨就堵"),
    ("demo:hotline-12345:GD2026000011", "demo:hotline-12345:GD2026000013", True, "梅峰河下雨就堵"),
    ("demo:hotline-12345:GD2026000012", "demo:hotline-12345:GD2026000014", True, "梅峰河下雨就堵"),
    ("demo:hotline-12345:GD2026000015", "demo:hotline-12345:GD2026000016", True, "梅峰河下雨就堵"),
    ("demo:hotline-12345:GD2026000016", "demo:hotline-12345:GD2026000017", True, "梅峰河逢雨必堵"),
    ("demo:hotline-12345:GD2026000013", "demo:hotline-12345:GD2026000018", True, "梅峰河下雨积水"),
    ("demo:hotline-12345:GD2026000029", "demo:hotline-12345:GD2026000031", True, "泮洋河治理占用东光花园空地"),
    ("demo:hotline-12345:GD2026000031", "demo:hotline-12345:GD2026000032", True, "泮洋河治理占用东光花园空地"),
    ("demo:hotline-12345:GD2026000034", "demo:hotline-12345:GD2026000035", True, "六一中路泮洋河治理何时完工"),
    ("demo:hotline-12345:GD2026000042", "demo:hotline-12345:GD2026000048", True, "文藻河景观灯彻夜亮"),
    ("demo:hotline-12345:GD2026000055", "demo:hotline-12345:GD2026000056", True, "天盛小区旁文藻河水质黑臭"),
    ("demo:hotline-12345:GD2026000004", "demo:hotline-12345:GD2026000006", True, "梅峰污水处理厂工程迟迟不完工"),
    ("demo:hotline-12345:GD2026000002", "demo:hotline-12345:GD2026000003", True, "梅峰河工程围挡致88路停走"),
    ("demo:hotline-12345:GD2026000025", "demo:hotline-12345:GD2026000040", True, "东光花园旁泮洋河臭味"),
    # -- look-alikes: same topic and wording, a different place, company or people ----------
    ("fz12345_heichou:573", "fz12345_heichou:574", False, "同一问法，不同小区的污水接管"),
    ("tipdm2020c_fj3:206939", "tipdm2020c_fj3:223231", False, "不同道路的交通建议"),
    ("fz12345_heichou:354", "fz12345_heichou:599", False, "龙津河美伦雅居 / 台屿河长埕村"),
    ("fz12345_heichou:628", "fz12345_heichou:1086", False, "阳岐河 / 琴亭河"),
    ("fz12345_heichou:125", "fz12345_heichou:333", False, "金港河万达 / 龙津河展进路"),
    ("fz12345_heichou:333", "fz12345_heichou:1124", False, "龙津河展进路 / 洋下河铁三小区"),
    ("fz12345_heichou:606", "fz12345_heichou:1124", False, "台屿河福湾新城 / 洋下河"),
    ("fz12345_heichou:86", "fz12345_heichou:245", False, "金港河摩卡 / 龙津河团校"),
    ("fz12345_heichou:150", "fz12345_heichou:377", False, "金港河黑臭 / 龙津河恶臭"),
    ("fz12345_heichou:541", "fz12345_heichou:606", False, "跃进河粉尘 / 台屿河噪音"),
    ("fz12345_heichou:929", "fz12345_heichou:962", False, "瀛洲河 / 红星河"),
    ("fz12345_heichou:1022", "fz12345_heichou:1136", False, "浦东河 / 茶园河"),
    ("fz12345_heichou:150", "fz12345_heichou:628", False, "金港河黑臭 / 阳岐河施工"),
    ("tipdm2020c_fj3:263489", "tipdm2020c_fj3:280966", False, "同一句式：国际金融中心 / 考古公园"),
    ("fz12345_heichou:128", "fz12345_heichou:501", False, "金港河 / 跃进河"),
    ("fz12345_heichou:515", "fz12345_heichou:962", False, "跃进河 / 红星河"),
    ("fz12345_heichou:82", "fz12345_heichou:506", False, "金港河 / 跃进河"),
    ("fz12345_heichou:875", "fz12345_heichou:940", False, "达道河 / 瀛洲河"),
    ("fz12345_heichou:494", "fz12345_heichou:1203", False, "跃进河东升小区 / 马洲支河"),
    ("fz12345_heichou:261", "fz12345_heichou:787", False, "龙津河 / 竹榄河"),
    ("fz12345_heichou:86", "fz12345_heichou:338", False, "金港河 / 龙津河"),
    ("tipdm2020c_fj3:196908", "tipdm2020c_fj3:275514", False, "同一句式：汉王陵公园 / 一圈二场三道"),
    ("fz12345_heichou:496", "fz12345_heichou:816", False, "跃进河 / 三捷河"),
    ("tipdm2020c_fj2:985", "tipdm2020c_fj3:195905", False, "同一句式：体育强省 / 招商引资"),
    ("fz12345_heichou:524", "fz12345_heichou:943", False, "跃进河东升解困小区 / 瀛洲河中选新巷"),
    ("fz12345_heichou:117", "fz12345_heichou:1139", False, "金港河 / 茶园河"),
    ("fz12345_heichou:262", "fz12345_heichou:506", False, "龙津河鸿城小区 / 跃进河金辉伯爵山"),
    ("fz12345_heichou:599", "fz12345_heichou:712", False, "台屿河 / 湖亭河"),
    ("tipdm2020c_fj3:256706", "tipdm2020c_fj3:220052", False, "欠薪：通万建设 / 新东方建筑"),
    ("tipdm2020c_fj4:10673", "tipdm2020c_fj3:217915", False, "欠薪：威精包装 / 峰天测绘"),
    ("tipdm2020c_fj3:230813", "tipdm2020c_fj3:243364", False, "欠薪：山千制药 / 楚瑞公司"),
    ("tipdm2020c_fj3:249300", "tipdm2020c_fj3:213186", False, "欠薪：地质家园 / 金地三千府"),
    ("tipdm2020c_fj4:32897", "tipdm2020c_fj4:80176", False, "欠薪：B市誉楚劳务 / F9市源力公司（都提铁汉）"),
    ("tipdm2020c_fj3:213303", "tipdm2020c_fj3:288224", False, "欠薪：A7县北山镇包工头 / A7县黄兴镇元美机电"),
    ("tipdm2020c_fj4:108436", "tipdm2020c_fj2:47762", False, "教师工资：K9县 / C3县"),
    ("tipdm2020c_fj3:266812", "tipdm2020c_fj3:223462", False, "欠薪：发旺食品 / 人华影视"),
    ("tipdm2020c_fj3:280435", "tipdm2020c_fj4:126023", False, "欠薪：新华联铜官窑 / 瑶郎村综合楼"),
    ("tipdm2020c_fj4:115829", "tipdm2020c_fj3:276572", False, "欠薪：海红公司 / 迅畅公司"),
    ("tipdm2020c_fj4:46027", "tipdm2020c_fj3:238108", False, "欠薪：泉塘美丽乡村 / 沙坪卫生服务中心"),
    ("tipdm2020c_fj4:115137", "tipdm2020c_fj3:215641", False, "教师工资：德恒实验学校 / 明德启南中学"),
    ("tipdm2020c_fj3:262850", "tipdm2020c_fj3:253554", False, "欠薪：百得胜 / 国安城南分公司"),
    ("tipdm2020c_fj4:44631", "tipdm2020c_fj4:82133", False, "员工待遇：楚碱公司 / 桃花岛公司"),
    ("tipdm2020c_fj3:200634", "tipdm2020c_fj3:213195", False, "讨薪：白洋村村民 / 怀邵衡铁路8标"),
    ("tipdm2020c_fj2:59405", "tipdm2020c_fj4:126023", False, "欠款：联兴神威厂房 / 瑶郎村综合楼"),
    (
        "demo:wenzheng-jiujiang:tipdm2020c_fj3:216393",
        "demo:wenzheng-replay:tipdm2020c_fj3:243364",
        False,
        "issue 15 的误合并：金恒世家包工头 / 楚瑞公司",
    ),
    ("demo:hotline-12345:GD2026000026", "demo:hotline-12345:GD2026000033", False, "东光花园：深夜施工 / 道路未恢复"),
    ("demo:hotline-12345:GD2026000045", "demo:hotline-12345:GD2026000051", False, "文藻河：河水黑臭 / 施工噪音"),
    ("demo:hotline-12345:GD2026000046", "demo:hotline-12345:GD2026000050", False, "文藻河：施工方案咨询 / 施工噪音"),
    ("demo:hotline-12345:GD2026000049", "demo:hotline-12345:GD2026000051", False, "文藻河：房子倒塌 / 施工噪音"),
    ("demo:hotline-12345:GD2026000023", "demo:hotline-12345:GD2026000042", False, "景观灯扰民：泮洋河 / 文藻河"),
    ("demo:hotline-12345:GD2026000019", "demo:hotline-12345:GD2026000057", False, "河道异味：梅峰河 / 金港河"),
    ("demo:hotline-12345:GD2026000053", "demo:hotline-12345:GD2026000054", False, "文藻河：食堂排污 / 淤泥清淤"),
    ("demo:hotline-12345:GD2026000039", "demo:hotline-12345:GD2026000041", False, "围栏：六一中路占道 / 文藻河护栏太低"),
    ("demo:hotline-12345:GD2026000009", "demo:hotline-12345:GD2026000041", False, "护栏：梅峰河被拆 / 文藻河太低"),
    ("demo:hotline-12345:GD2026000008", "demo:hotline-12345:GD2026000026", False, "深夜施工：梅峰河左海 / 泮洋河东光花园"),
    ("demo:liuyan-jinan:7719515", "demo:liuyan-jinan:8477064", False, "夜间施工：榕发夏荷郡 / 双辉花园"),
    ("demo:liuyan-jinan:7701907", "demo:liuyan-jinan:7472966", False, "夜间施工：金晖新村 / 福锅小区"),
    (
        "demo:wenzheng-jiujiang:tipdm2020c_fj3:220199",
        "demo:wenzheng-jiujiang:tipdm2020c_fj3:244335",
        False,
        "混凝土噪音：龙湖星座工地 / 丽发新城搅拌站",
    ),
    ("demo:hotline-12345:GD2026000001", "demo:hotline-12345:GD2026000002", False, "梅峰河：治理后仍臭 / 施工围挡停公交"),
]


def main(demo_store: str) -> None:
    texts: dict[str, tuple[str, str, str]] = {}
    with SHARED.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            texts[d["id"]] = (d["title"], d["content"], d["source"])
    with sqlite3.connect(demo_store) as c:
        for pid, doc in c.execute("SELECT id, doc FROM posts"):
            d = json.loads(doc)
            texts["demo:" + pid] = (d["title"], d["content"], d["source"]["id"])
    seen: set[tuple[str, str]] = set()
    with OUT.open("w", encoding="utf-8") as out:
        for a, b, same, note in PAIRS:
            key = (min(a, b), max(a, b))
            if key in seen:
                raise SystemExit(f"pair listed twice: {a} {b}")
            seen.add(key)
            row = {"a": _post(a, texts), "b": _post(b, texts), "same_event": same, "note": note}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(PAIRS)} pairs ({sum(p[2] for p in PAIRS)} same, {sum(not p[2] for p in PAIRS)} different) -> {OUT}")


def _post(pid: str, texts: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    if pid not in texts:
        raise SystemExit(f"post {pid} not found in {SHARED} nor in the demo store")
    title, content, source = texts[pid]
    return {"id": pid, "source": source, "title": title, "content": content}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
