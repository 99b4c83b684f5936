"""CI only (.ci/clients/run): drives the built server with the client that openapi-python-client
makes from docs/openapi.json. Each step checks the typed answer.

Usage: python python_smoke.py <base url of /api/v1> <admin email> <admin password>
"""

import datetime
import sys
import time

from accounts_client import AuthenticatedClient, Client
from accounts_client.api.auth import login
from accounts_client.api.me import get_me, get_my_profile, save_my_profile
from accounts_client.api.team import add_member, allocate_credits, get_team_usage, list_members
from accounts_client.models import (
    AddMemberRequest,
    AllocationResult,
    Bucket,
    CreditKind,
    CreditMoveRequest,
    LoggedIn,
    LoginRequest,
    Me,
    Member,
    MemberPage,
    MemberStatus,
    Problem,
    Profile,
    Role,
    UsageReport,
)


def check(condition, what):
    if not condition:
        sys.exit(f"python client: {what}")


base, email, password = sys.argv[1:4]

answer = login.sync(client=Client(base_url=base), body=LoginRequest(email=email, password=password))
check(isinstance(answer, LoggedIn), f"log-in failed: {answer}")
api = AuthenticatedClient(base_url=base, token=answer.token)

me = get_me.sync(client=api)
check(isinstance(me, Me) and me.email == email, f"GET /me: {me}")
check(me.role == Role.ADMIN, "the admin is not an admin")

read = get_my_profile.sync_detailed(client=api)
check(isinstance(read.parsed, Profile), f"GET /me/profile: {read.parsed}")
etag = read.headers["ETag"]
profile = read.parsed
profile.job_title = "Typed in Python"
saved = save_my_profile.sync(client=api, body=profile, if_match=etag)
check(isinstance(saved, Profile) and saved.job_title == "Typed in Python", f"save: {saved}")
stale = save_my_profile.sync(client=api, body=profile, if_match=etag)
check(isinstance(stale, Problem) and stale.status == 412 and stale.current_etag, f"stale save: {stale}")

added = add_member.sync(
    client=api,
    body=AddMemberRequest(first_name="Pia", last_name="Python", email="pia@clients.example"),
)
check(isinstance(added, Member), f"adding a member: {added}")
page = list_members.sync(client=api, status=MemberStatus.ENABLED)
check(isinstance(page, MemberPage) and any(m.id == added.id for m in page.items), "not listed")

key = f"py-{time.time_ns()}"
move = CreditMoveRequest(kind=CreditKind.EXPORT, amount=40, reason="generated client")
first = allocate_credits.sync_detailed(added.id, client=api, body=move, idempotency_key=key)
check(isinstance(first.parsed, AllocationResult), f"allocation: {first.parsed}")
check(first.parsed.balance.allocated == 40, "the allocation is not in the balance")
replay = allocate_credits.sync_detailed(added.id, client=api, body=move, idempotency_key=key)
check(replay.headers.get("Idempotent-Replayed") == "true", "the retry was not a replay")
check(replay.parsed.entry_id == first.parsed.entry_id, "the replay moved credits again")

today = datetime.date.today()
report = get_team_usage.sync(client=api, from_=today, to=today, bucket=Bucket.DAY)
check(isinstance(report, UsageReport) and len(report.series) == 1, f"usage report: {report}")

taken = add_member.sync_detailed(
    client=api, body=AddMemberRequest(first_name="Pia", email="pia@clients.example")
)
check(taken.status_code == 409 and isinstance(taken.parsed, Problem), f"409: {taken.parsed}")
check(taken.parsed.type_.endswith("#email-taken"), f"409 problem type: {taken.parsed.type_}")
print("python client: log-in, me, profile with If-Match, members, idempotent allocation, usage, 409 problem: ok")
