"""What a soak counted: statements, faults by kind, outcomes and defects, with reproducers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Defect counters: any non-zero value fails the soak.
DEFECTS = (
    "duplicates",
    "lost_writes",
    "false_failures",
    "wrong_rows",
    "unexpected_errors",
    "fault_free_failures",
    "bad_hints",
    "hangs",
    "leaks",
)
KEEP_PER_KIND = 4  # reproducers kept per defect kind; the rest are only counted


@dataclass
class Summary:
    """Counters of one soak (merge the per-thread ones with :meth:`merge`)."""

    name: str
    seed: int
    statements: int = 0
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)  # statements by kind
    faults: Counter[str] = field(default_factory=Counter)  # fired, by kind/when
    outcomes: Counter[str] = field(default_factory=Counter)  # success/unknown/failure
    errors: Counter[str] = field(default_factory=Counter)  # exception class names
    defects: Counter[str] = field(default_factory=Counter)
    reproducers: list[str] = field(default_factory=list)

    def defect(self, kind: str, reproducer: str) -> None:
        """Count one defect of ``kind`` and keep how to reproduce it."""
        assert kind in DEFECTS, kind
        self.defects[kind] += 1
        if self.defects[kind] <= KEEP_PER_KIND:
            self.reproducers.append(f"[{kind}] {reproducer}")

    def merge(self, other: Summary) -> None:
        """Add another summary's counts into this one."""
        self.statements += other.statements
        self.seconds = max(self.seconds, other.seconds)
        self.kinds.update(other.kinds)
        self.faults.update(other.faults)
        self.outcomes.update(other.outcomes)
        self.errors.update(other.errors)
        for reproducer in other.reproducers:
            kind = reproducer[1 : reproducer.index("]")]
            if sum(r.startswith(f"[{kind}]") for r in self.reproducers) < KEEP_PER_KIND:
                self.reproducers.append(reproducer)
        self.defects.update(other.defects)

    @property
    def total_defects(self) -> int:
        """Every defect counted, of all kinds."""
        return sum(self.defects.values())

    def render(self) -> str:
        """A plain-text report: figures first, then the kept reproducers."""
        lines = [
            f"{self.name} soak (seed {self.seed}): {self.statements} statements "
            f"in {self.seconds:.1f} s",
            "  statements: " + _pairs(self.kinds),
            "  faults fired: " + _pairs(self.faults),
            "  outcomes: " + _pairs(self.outcomes),
            "  errors: " + _pairs(self.errors),
            "  defects: " + ", ".join(f"{k} {self.defects.get(k, 0)}" for k in DEFECTS),
        ]
        if self.reproducers:
            lines.append(
                f"  first {len(self.reproducers)} defects (rerun with SOAK_SEED={self.seed}):"
            )
            lines.extend(f"    {r}" for r in self.reproducers)
        return "\n".join(lines)


def judged(exc: BaseException) -> bool:
    """Whether a soak should judge ``exc`` (False: Ctrl-C, exit, or pytest's own timeout)."""
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return False
    return not type(exc).__module__.startswith(("_pytest", "pytest"))


def _pairs(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"
