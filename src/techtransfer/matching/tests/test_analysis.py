"""Analysis: jieba (rjieba, no HMM) with the platform's user dictionary; bigrams; TF-IDF keywords."""

import pytest

from techtransfer.matching.analysis import Analyzer, IdfTable, cjk_bigrams, code_list_terms


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer(["石墨烯导热膜", "揭榜挂帅"])


def test_code_list_names_are_in_the_user_dictionary():
    terms = set(code_list_terms())
    assert {"稻谷种植", "相山区", "濉溪县", "淮北市"} <= terms
    assert "农、林、牧、渔业" not in terms  # enumerations are split into their parts
    assert "渔业" in terms


def test_user_dictionary_keeps_platform_terms_whole(analyzer):
    # given code-list names and platform keywords / when segmented / then each is one token
    assert analyzer.segment("相山区的稻谷种植企业需要石墨烯导热膜") == [
        "相山区", "的", "稻谷种植", "企业", "需要", "石墨烯导热膜",
    ]  # fmt: skip
    assert "揭榜挂帅" in analyzer.segment("参加揭榜挂帅项目")


def test_without_the_dictionary_the_same_text_splits_differently():
    plain = Analyzer(use_code_lists=False)
    assert plain.segment("相山区的稻谷种植企业需要石墨烯导热膜") == [
        "相山区", "的", "稻谷", "种植", "企业", "需要", "石墨", "烯", "导热", "膜",
    ]  # fmt: skip


def test_rjieba_no_hmm_matches_jieba_no_hmm():
    jieba = pytest.importorskip("jieba")
    import logging

    jieba.setLogLevel(logging.WARNING)
    plain = Analyzer(use_code_lists=False)
    texts = [
        "采用修正的Rodrigues参数(MRP),建立了飞行器姿态控制系统的数学模型",
        "瓦楞纸板成型用黏胶生产工艺。如何在胶水种类及环保分析",
        "本公司研发的隔板具有比表面积大，吸附性好、储存更多的酸液",
    ]
    for text in texts:
        assert plain.segment(text) == jieba.lcut(text.lower(), HMM=False)


def test_words_drop_punctuation_and_stopwords(analyzer):
    assert analyzer.words("一种基于深度学习的图像识别方法, 用于5G基站。") == [
        "深度", "学习", "图像识别", "用于", "5g", "基站",
    ]  # fmt: skip


def test_bigrams_stay_inside_chinese_runs():
    assert cjk_bigrams("锂电池,隔膜 ph7.5 新") == ["锂电", "电池", "隔膜", "新", "ph7.5"]


def test_keywords_use_idf_from_the_platform_corpus(analyzer):
    corpus = [
        "锂电池隔膜材料的制备",
        "锂电池正极材料的回收",
        "污水处理的膜材料",
        "材料表面处理工艺",
    ]
    idf = IdfTable.from_texts(analyzer, corpus)
    assert idf.n_docs == 4 and idf.df["材料"] == 4 and idf.df["锂电池"] == 2
    keywords = idf.keywords(analyzer, "锂电池隔膜材料的制备", k=3)
    assert [w for w, _ in keywords] == ["隔膜", "制备", "锂电池"]
    assert keywords[0][1] == pytest.approx(1 / 4 * (1 + __import__("math").log(5 / 2)))


def test_idf_table_round_trips(tmp_path, analyzer):
    idf = IdfTable.from_texts(analyzer, ["锂电池隔膜", "锂电池回收"])
    idf.save(tmp_path / "idf.json")
    again = IdfTable.load(tmp_path / "idf.json")
    assert again.n_docs == 2 and again.df == idf.df
