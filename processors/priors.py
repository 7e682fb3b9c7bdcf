"""Title priors: a few unambiguous phrases per topic that, found in a post's *title*, add a
boost to that topic's score. Rare topics (食品药品安全 has 20 labelled posts) cannot be learnt
from data alone; the boosts are fitted by cross-validation on the training split only
(``processors.train``), never on dev, and a boost of 0 switches a topic's prior off.
"""

from __future__ import annotations

import re

import numpy as np

TITLE_PRIORS: dict[str, re.Pattern[str]] = {
    "房地产金融": re.compile(r"烂尾|开发商|交房|房产证|不动产证|购房|商品房|非法集资|集资|p2p|P2P|理财|套路贷|高利贷|停贷|按揭|房贷"),
    "工资拖欠": re.compile(r"欠薪|讨薪|拖欠.{0,6}(工资|薪|工钱|血汗钱|劳务费)|工资.{0,4}(拖欠|未发|没发|不发|未付)|血汗钱"),
    "环境污染和生态破坏": re.compile(r"污染|排污|偷排|恶臭|臭气|黑臭|噪音|噪声|扰民|粉尘|扬尘|油烟|异味|焚烧|采砂|砍伐|辐射|环保"),
    "食品药品安全": re.compile(
        r"食品|药品|假药|保健品|保健讲座|过期|变质|地沟油|食物中毒|三无产品|假冒伪劣|无证.{0,4}(餐|食|饮|奶茶|小吃)"
    ),
    "教育医疗养老": re.compile(r"学校|学生|教师|老师|幼儿园|入学|学位|学区|医院|医保|养老金|养老院|退休|新农合|补课|培训机构"),
    "安全生产": re.compile(r"安全隐患|消防|火灾|爆炸|危化|燃气|煤气|液化气|电梯|坍塌|危房|安全事故|矿山|煤矿"),
    "困难群众生活": re.compile(r"低保|特困|五保|救助|残疾|贫困|扶贫|廉租|公租房|孤寡|困难户|困难家庭|大病"),
}


def prior_matrix(titles: list[str], labels: list[str]) -> np.ndarray:
    """1 where a title matches the topic's prior, else 0; shape (len(titles), len(labels))."""
    m = np.zeros((len(titles), len(labels)), np.float32)
    for j, label in enumerate(labels):
        pat = TITLE_PRIORS.get(label)
        if pat is None:
            continue
        for i, t in enumerate(titles):
            if pat.search(t):
                m[i, j] = 1.0
    return m


def prior_vector(title: str, labels: list[str], boosts: np.ndarray) -> np.ndarray:
    return np.array([boosts[j] if (p := TITLE_PRIORS.get(lbl)) and p.search(title) else 0.0 for j, lbl in enumerate(labels)], np.float32)
