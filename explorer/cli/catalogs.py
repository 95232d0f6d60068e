"""The maintainer's catalog tools: `python -m explorer.i18n hant` (or `python -m explorer.cli.catalogs hant`)
writes zh-Hant.toml from zh-Hans.toml; `... check` lists missing keys, unused keys and placeholder
mismatches. OpenCC (requirements.txt) is needed only here: the app reads the generated file.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from explorer import i18n
from explorer.i18n import DEFAULT, LANGUAGES, LOCALES, _flatten, placeholders

# s2twp's wording that the glossary (explorer/locales/glossary.md, column "OpenCC writes") corrects
# everywhere: the deep-learning terms Taiwanese textbooks use. Longer terms first.
TERM_FIXES = {
    "最佳化器": "優化器", "全連線層": "全連接層", "啟用函式": "激活函數", "啟用值": "激活值", "啟用層": "激活層",
    "損失函式": "損失函數", "批歸一化": "批次正規化", "批大小": "批次大小", "演示模式": "簡報模式",
    "引數": "參數", "畫素": "像素", "映象": "鏡像", "噪聲": "雜訊",
}  # fmt: skip


def traditional(simplified: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """zh-Hant from zh-Hans with OpenCC's s2twp (Taiwan usage: 網路, 程式, 資料), the glossary's
    term fixes, then the reviewed overrides (whole sentences)."""
    import opencc  # only this tool converts; the app reads zh-Hant.toml

    converter = opencc.OpenCC("s2twp")

    def convert(text: str) -> str:
        text = converter.convert(text)
        for wrong, right in TERM_FIXES.items():
            text = text.replace(wrong, right)
        return text

    return {key: overrides.get(key) or convert(text) for key, text in simplified.items()}


def toml_text(flat: dict[str, str], header: str = "") -> str:
    """A flat catalog as TOML, grouped in tables by everything before the last dot."""
    lines, table = [header] if header else [], None
    for key in sorted(flat, key=lambda k: (k.rsplit(".", 1)[0] if "." in k else "", k)):
        group, name = key.rsplit(".", 1) if "." in key else ("", key)
        if group != table:
            lines += ["", f"[{group}]"]
            table = group
        lines.append(f"{name} = {_toml_string(flat[key])}")
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def write_traditional() -> Path:
    overrides_path = LOCALES / "zh-Hant.overrides.toml"
    overrides = dict(_flatten(tomllib.loads(overrides_path.read_text()))) if overrides_path.exists() else {}
    header = "# Generated from zh-Hans.toml by `python -m explorer.i18n hant` (OpenCC s2twp + zh-Hant.overrides.toml).\n# Do not edit: change zh-Hans.toml or the overrides, then regenerate."
    path = LOCALES / "zh-Hant.toml"
    path.write_text(toml_text(traditional(i18n.catalog("zh-Hans"), overrides), header))
    i18n.catalog.cache_clear()
    return path


def problems(used_keys: set[str], used_prefixes: set[str]) -> list[str]:
    """Missing keys, keys no code uses, and placeholder mismatches, one line each."""
    english = i18n.catalog(DEFAULT)
    found = [f"missing in en: {key}" for key in sorted(used_keys - set(english))]
    for lang in LANGUAGES:
        other = i18n.catalog(lang)
        found += [f"missing in {lang}: {key}" for key in sorted(set(english) - set(other))]
        found += [f"not in en, but in {lang}: {key}" for key in sorted(set(other) - set(english))]
        found += [
            f"placeholders differ in {lang}: {key}"
            for key in sorted(set(english) & set(other))
            if placeholders(english[key]) != placeholders(other[key])
        ]
    unused = [key for key in english if key not in used_keys and not any(key.startswith(p) for p in used_prefixes)]
    return found + [f"unused: {key}" for key in sorted(unused)]


def keys_in_code(roots: list[Path]) -> tuple[set[str], set[str]]:
    """The keys the code passes to t() as string literals, and the fixed beginnings of the keys it
    builds (t(f"lessons.{id}.title") uses every key starting with "lessons.")."""
    literal = re.compile(r"""\bt\(\s*["']([\w.]+)["']""")
    built = re.compile(r"""\bt\(\s*f["']([\w.]*)\{""")
    keys, prefixes = set(), set()
    for root in roots:
        for path in root.rglob("*.py"):
            if path.resolve() in (Path(__file__).resolve(), (LOCALES.parent / "i18n.py").resolve()):  # their own examples
                continue
            text = path.read_text()
            keys.update(literal.findall(text))
            prefixes.update(prefix for prefix in built.findall(text) if prefix)
    return keys, prefixes


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    if command == "hant":
        print(f"wrote {write_traditional()}")
        return 0
    root = LOCALES.parents[1]
    found = problems(*keys_in_code([root / "explorer", root / "pages"]))
    print("\n".join(found) or "the catalogs are complete")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
