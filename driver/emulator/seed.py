"""Deterministic demo data and fast bulk seeding."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .state import CONFERENCE_STATUSES, Conference, Participant

if TYPE_CHECKING:
    from .emulator import Emulator


def seed_demo(emulator: Emulator) -> None:
    """Add three live and three completed conferences with participants.

    Names, SIDs, labels and flags are the same on every run of a fresh (or
    reset) emulator; dates are relative to ``emulator.clock``.
    """
    now = emulator.state.now()

    def ago(**delta: float) -> timedelta:
        return timedelta(**delta)

    standup = emulator.create_conference(
        "Daily Standup", "in-progress", date_created=now - ago(minutes=20)
    )
    sid = str(standup["sid"])
    host = emulator.add_participant(sid, label="host", date_created=now - ago(minutes=20))
    emulator.add_participant(sid, label="bob", muted=True, date_created=now - ago(minutes=19))
    emulator.add_participant(sid, label="carol", hold=True, date_created=now - ago(minutes=18))
    emulator.add_participant(
        sid,
        label="coach",
        call_sid_to_coach=str(host["call_sid"]),
        muted=True,
        date_created=now - ago(minutes=17),
    )

    escalation = emulator.create_conference(
        "Customer Escalation", "in-progress", date_created=now - ago(minutes=9)
    )
    sid = str(escalation["sid"])
    agent = emulator.add_participant(
        sid, label="agent", end_conference_on_exit=True, date_created=now - ago(minutes=9)
    )
    emulator.add_participant(sid, label="customer", date_created=now - ago(minutes=8))
    emulator.add_participant(
        sid,
        label="supervisor",
        call_sid_to_coach=str(agent["call_sid"]),
        date_created=now - ago(minutes=5),
    )

    lobby = emulator.create_conference("Lobby", "init", date_created=now - ago(minutes=1))
    emulator.add_participant(
        str(lobby["sid"]), label="early-bird", status="ringing", date_created=now - ago(minutes=1)
    )

    for days, name, reason in (
        (1, "Weekly Planning", "last-participant-left"),
        (2, "Board Review", "conference-ended-via-api"),
        (3, "Incident Bridge", "participant-with-end-conference-on-exit-left"),
    ):
        created = now - ago(days=days)
        done = emulator.create_conference(
            name,
            "completed",
            date_created=created,
            date_updated=created + ago(minutes=45),
            reason_conference_ended=reason,
        )
        for index in range(3):
            emulator.add_participant(
                str(done["sid"]), label=f"member-{index}", status="complete", date_created=created
            )


def seed_bulk(
    emulator: Emulator,
    conferences: int = 5000,
    participants_per: int = 0,
    status: str = "completed",
    account_sid: str | None = None,
) -> list[str]:
    """Add ``conferences`` conferences named ``bulk-00000``… one minute apart.

    Each gets ``participants_per`` participants (labels ``p0``…; every third
    muted, every fifth on hold): ``complete`` in completed conferences,
    ``ringing`` in ``init`` ones, ``connected`` otherwise.  Returns the new
    conference SIDs, newest first.
    """
    if status not in CONFERENCE_STATUSES:
        raise ValueError(f"status must be one of {CONFERENCE_STATUSES}")
    state = emulator.state
    account = account_sid or emulator.demo_account
    if account not in state.accounts:
        raise ValueError(f"unknown account {account!r}")
    member_status = {"completed": "complete", "init": "ringing"}.get(status, "connected")
    with state.lock:
        now = state.now()
        made: list[Conference] = []
        for number in range(conferences):
            created = now - timedelta(minutes=number)
            conference = Conference(
                sid=state.sids.next("CF"),
                account_sid=account,
                friendly_name=f"bulk-{number:05d}",
                status=status,
                region="us1",
                date_created=created,
                date_updated=created + timedelta(seconds=30) if status == "completed" else created,
                reason_conference_ended="last-participant-left" if status == "completed" else None,
            )
            for index in range(participants_per):
                participant = Participant(
                    call_sid=state.sids.next("CA"),
                    account_sid=account,
                    conference_sid=conference.sid,
                    index=index,
                    status=member_status,
                    date_created=created,
                    date_updated=created,
                    label=f"p{index}",
                    muted=index % 3 == 1,
                    hold=index % 5 == 2,
                )
                conference.participants.append(participant)
                state.calls[participant.call_sid] = participant
                if member_status == "ringing":
                    state.pending[participant.call_sid] = participant
            if status == "completed" and conference.participants:
                conference.call_sid_ending_conference = conference.participants[-1].call_sid
            made.append(conference)
        state.add_conferences_sorted(made)
        return [c.sid for c in made]
