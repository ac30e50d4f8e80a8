#!/usr/bin/env python3
"""Records open_clip's CLIP token ids for varied strings, for imgtui's tokenizer to be checked against.

Writes one JSON object a line: {"text": ..., "ids": [77 ids], "ftfy_matters": bool}, where
`ids` is what open_clip's `tokenize` (SimpleTokenizer, clean='lower', context length 77) returns
and `ftfy_matters` says whether the ids change when ftfy.fix_text is left out of the cleaning
(imgtui does ftfy's fixes but its mojibake repair: see src/features/clip_tokenizer.rs).

open_clip's tokenizer imports torch only to build the output tensor; a numpy stand-in replaces it,
so the reference needs ftfy, regex and numpy, and the unpacked open_clip_torch wheel:

    python3 -m venv /tmp/ocvenv && /tmp/ocvenv/bin/pip install ftfy regex numpy
    /tmp/ocvenv/bin/pip download open_clip_torch==3.3.0 --no-deps -d /tmp/oc && (cd /tmp/oc && unzip -o -q *.whl)
    /tmp/ocvenv/bin/python bench/clip_tokenizer_check.py --open-clip /tmp/oc/open_clip --out /tmp/clip_ref.jsonl
    CLIP_TOKENIZER_RECORDS=/tmp/clip_ref.jsonl cargo test --lib clip_tokenizer -- --ignored --nocapture
"""
import argparse
import importlib.util
import json
import random
import sys
import types

import numpy as np


def load_open_clip_tokenizer(open_clip_dir):
    torch = types.ModuleType("torch")
    torch.long = np.int64
    torch.Tensor = torch.LongTensor = np.ndarray
    torch.zeros = lambda *shape, dtype=None: np.zeros(shape, dtype=dtype)
    torch.tensor = np.array
    sys.modules["torch"] = torch
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer", f"{open_clip_dir}/tokenizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORDS = """a photo of the cat dog sitting on red blue green chair painting oil watercolour sketch
portrait landscape abstract geometric pattern texture bright dark moody sunset over mountains
sea city night street person woman man child tree flowers bowl fruit still life minimal
cubist impressionist surreal charcoal pencil ink digital render neon glitch pixel art
tokenization transformer understanding unbelievably antidisestablishmentarianism
supercalifragilisticexpialidocious xylophone quizzical jazz""".split()
CONTRACTIONS = ["don't", "it's", "we're", "I've", "I'm", "you'll", "he'd", "O'Neil", "IT'S",
                "can't", "'s", "rock 'n' roll", "ma'am", "y'all'd've", "'twas", "it’s", "don‘t",
                "it'ſ", "WE'RE", "she'LL"]
ACCENTS = ["café", "naïve", "Ångström", "São Paulo", "Zürich", "crème brûlée", "façade", "Dvořák",
           "Łódź", "smörgåsbord", "piñata", "Kraków", "Ærøskøbing", "straße", "STRASSE",
           "cafe\u0301", "nai\u0308ve", "A\u030angstro\u0308m", "İstanbul", "ΣΊΣΥΦΟΣ", "Ὀδυσσεύς",
           "ΟΔΥΣΣΕΥΣ", "Москва", "Привет мир", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "Tiếng Việt"]
CJK = ["日本語のテキスト", "猫が座っている", "中文字符", "一只猫", "한국어 문장", "カタカナ", "ｶﾀｶﾅ",
       "漢字かな交じり文", "東京タワー", "北京", "안녕하세요"]
EMOJI = ["👍", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🐱", "🎨🖼️", "😀😃😄", "🏳️‍🌈", "✨", "🔥🔥", "☕"]
PUNCT = ["...", "?!", "--", "—", "«quoted»", "“curly”", "‘single’", "(paren)", "[bracket]", "{brace}",
         "#hashtag", "@user", "e-mail", "a/b", "c:\\path", "50%", "$9.99", "€5", "£3", "¥100", "~",
         "***", "!!!", ";-)", ":)", "<3", "->", "=>", "||", "&", "<b>bold</b>", "\"dq\"", "`tick`",
         "…", "•", "·", "©", "®", "™", "°C", "±", "×", "÷", "§", "¶", "†"]
NUMBERS = ["0", "7", "42", "3.14159", "1,000,000", "2026", "1e-4", "١٢٣", "²", "½", "Ⅻ", "๓",
           "४२", "⑤", "0x1F", "-12", "100px", "4k", "1080p", "v2.0.1", "12:30", "24/7"]
SPACES = [" ", "  ", "\t", "\n", " \n\t ", "\u00a0", "\u3000", "\u2003", "\r\n", "\u2028", "   \t\t"]
HTML = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;", "&nbsp;", "&copy;", "&copyright",
        "&amp;amp;", "&amp;lt;", "&#128;", "&#0;", "&bogus;", "&eacute;", "&Eacute;", "&#233;",
        "&#xE9;", "&hellip;", "&mdash;", "&#8217;", "&notit;", "&not", "&AMP;", "&#1114112;",
        "&#55296;", "&#127;", "&lt", "&#65;&#66;", "&frac12;", "&#x1F600;", "&amp;amp;amp;"]
ODD = ["<start_of_text>", "<end_of_text>", "<|startoftext|>", "<|endoftext|>", "<START_OF_TEXT>",
       "ﬁne ﬂower", "ＡＢＣ ｆｕｌｌｗｉｄｔｈ", "cafÃ©", "â€œmojibakeâ€\x9d", "\x1b[31mred\x1b[0m",
       "ctrl\x07char", "zero\u200bwidth", "a\u0345b", "x\x1cy", "soft\u00adhyphen", "ＩＴ＇Ｓ", "x\x85y", "\ufeffbom",
       "tab\there", "UPPER CASE", "MiXeD cAsE", "snake_case_name", "camelCaseName", "ALLCAPS"]
# Cases the unit test always checks: ftfy's table fixes imgtui does, case folding, entities, specials.
FIXTURE_CASES = ["it’s", "don‘t", "ﬁne ﬂower", "ＡＢＣ ｆｕｌｌｗｉｄｔｈ", "ＩＴ＇Ｓ", "cafe\u0301",
                 "A\u030angstro\u0308m", "a\u0345b", "ΣΊΣΥΦΟΣ", "İstanbul", "straße", "it'ſ", "&copyright",
                 "&amp;amp;", "&notit;", "&#128;", "<start_of_text>", "<|endoftext|>", "<START_OF_TEXT>",
                 "👨‍👩‍👧", "日本語のテキスト", "١٢٣", "x\x1cy", "\u3000"]
CATEGORIES = [WORDS, CONTRACTIONS, ACCENTS, CJK, EMOJI, PUNCT, NUMBERS, HTML, ODD]


def strings(rng, n):
    out = ["", " ", "a", "A photo of a cat.", "   leading and trailing   "]
    for category in CATEGORIES:
        out.extend(category)
    out.extend(" ".join(rng.choice(WORDS) for _ in range(k)) for k in (60, 80, 100, 150))
    while len(out) < n:
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.5:
                parts.append(rng.choice(WORDS))
            else:
                parts.append(rng.choice(rng.choice(CATEGORIES)))
            parts.append(rng.choice(SPACES) if rng.random() < 0.3 else rng.choice(["", " "]))
        text = "".join(parts)
        r = rng.random()
        if r < 0.1:
            text = text.upper()
        elif r < 0.2:
            text = text.title()
        elif r < 0.25:
            text = " ".join([text] * rng.randint(8, 20))  # long: over 77 tokens
        out.append(text)
    return out[:n] if len(out) > n else out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open-clip", required=True, help="folder of the unpacked open_clip package")
    parser.add_argument("--out", required=True)
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--fixture", help="also write the small set the unit test checks: every 20th "
                        "string whose ids ftfy does not change, and the cases of FIXTURE_CASES")
    args = parser.parse_args()
    module = load_open_clip_tokenizer(args.open_clip)
    texts = strings(random.Random(args.seed), args.n)
    ids = module.tokenize(texts, context_length=77)
    module.ftfy = types.SimpleNamespace(fix_text=lambda text: text)
    without_ftfy = module.SimpleTokenizer()(texts, context_length=77)
    matters = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for text, row, plain in zip(texts, ids, without_ftfy):
            record = {"text": text, "ids": [int(i) for i in row], "ftfy_matters": bool((row != plain).any())}
            matters += record["ftfy_matters"]
            f.write(json.dumps(record, ensure_ascii=True) + "\n")
    if args.fixture:
        with open(args.out, encoding="utf-8") as f, open(args.fixture, "w", encoding="utf-8") as out:
            for i, line in enumerate(f):
                record = json.loads(line)
                if (i % 20 == 0 and not record["ftfy_matters"]) or record["text"] in FIXTURE_CASES:
                    out.write(line)
    print(f"{len(texts)} strings ({matters} whose ids ftfy changes) -> {args.out}")


if __name__ == "__main__":
    main()
