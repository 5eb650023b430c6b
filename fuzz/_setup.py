"""What both atheris harnesses share: the import path, the seed corpus and libFuzzer's arguments.

A harness is run as a script (``python fuzz/grammar.py …``), which puts ``fuzz/``
first on ``sys.path`` where ``fuzz/grammar.py`` would shadow the ``grammar``
package: :func:`use_repository` puts the repository root there instead.

:func:`libfuzzer_args` adds what the README's commands leave out: the corpus
directory ``fuzz/corpus/<name>/`` (created and filled with the harness's seeds
when missing; libFuzzer writes the inputs it finds interesting there) and
``-artifact_prefix=fuzz/artifacts/<name>/`` (where a crashing input is saved).
Neither directory is committed (``fuzz/.gitignore``).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["FUZZ", "ROOT", "libfuzzer_args", "use_repository"]

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent


def use_repository() -> None:
    """Import ``grammar``, ``smsgw`` … from this checkout, never ``fuzz/`` itself."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != FUZZ]
    sys.path.insert(0, str(ROOT))


def libfuzzer_args(name: str, argv: list[str], seeds: Iterable[bytes]) -> list[str]:
    """``argv`` with the default corpus directory and artifact prefix added unless given."""
    args = list(argv)
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus directory or input file given
        corpus = FUZZ / "corpus" / name
        if not corpus.is_dir():
            corpus.mkdir(parents=True)
            for seed in seeds:
                (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
        args.append(str(corpus))
    if not any(a.startswith("-artifact_prefix=") for a in args):
        artifacts = FUZZ / "artifacts" / name
        artifacts.mkdir(parents=True, exist_ok=True)
        args.append(f"-artifact_prefix={artifacts}/")
    return args
