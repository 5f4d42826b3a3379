#!/usr/bin/env python3
"""Independent, vectorised NumPy implementation of the pbrsim reference model.

Written from the reference model (docs/model.md, sections 1-10) and the
engine's documented conventions in docs/model.md and docs/scenario-format.md only,
never from pbrsim's source. Covers sustained outcomes (4a), counted adverse
events (4b), the closed-form counterfactual (4c), time in a state (4d), the
tariff rules, improvement over a comparison (with interim payments), fee for service with volume reconciliation, additional
outcomes above a baseline (5), the supply chain (6), failure (7), investors (8)
and the commissioner's value (9). It is used to check pbrsim in distribution and as
a speed baseline.

Layout: every state array has the iterations as its first axis; the
simulation loops over months (and, inside a month, over segments and ages in
outcome), never over iterations. Money is integer pence (int64) wherever the
docs say amounts are rounded; figures are reported in currency units.

Usage:
    python3 pbr_numpy.py SCENARIO.toml -n 20000 --seed 1 [--out draws.csv]
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
import time
import tomllib

import numpy as np
from scipy import special, stats

PROVIDER_KEYS = (
    "label", "reserves", "credit_line", "cost_per_referral",
    "cost_per_participant_month", "overhead_per_month", "overhead_months",
    "fixed_cost_share", "capacity_notice_months", "reprocurement_cost",
)


# --------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------

def pence(x) -> int:
    """Money in the file -> integer pence (nearest hundredth)."""
    return int(math.floor(float(x) * 100.0 + 0.5))


def round_half_away(x):
    """Rust's f64::round (half away from zero), for arrays or scalars."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def per_year(value, years: int):
    """A number or a list by contract year (last entry repeats) -> list of len `years`."""
    if isinstance(value, list):
        if not value:
            raise ValueError("empty per-year list")
        return [value[min(y, len(value) - 1)] for y in range(years)]
    return [value] * years


class Provider:
    def __init__(self, pid, tab, D, H, is_sub):
        self.id = pid
        self.reserves = pence(tab.get("reserves", 0))
        self.credit_line = pence(tab.get("credit_line", 0))
        self.cpr = pence(tab.get("cost_per_referral", 0))
        self.cppm = pence(tab.get("cost_per_participant_month", 0))
        self.overhead = pence(tab.get("overhead_per_month", 0))
        self.overhead_months = min(int(tab.get("overhead_months", D)), H)
        self.reprocurement = pence(tab.get("reprocurement_cost", 0))
        # docs/model.md 6, "Fixed and variable delivery costs"
        self.fixed_share = float(tab.get("fixed_cost_share", 0.0))
        if not 0.0 <= self.fixed_share <= 1.0:
            raise ValueError(f"{pid}: fixed_cost_share must be in [0, 1]")
        notice = tab.get("capacity_notice_months", None)
        self.notice = None if notice is None else int(notice)
        self.planned = None                      # P_d(t), set once segments are known
        self.fee_per_referral = pence(tab.get("fee_per_referral", 0)) if is_sub else 0
        self.pass_through = float(tab.get("pass_through", 0.0)) if is_sub else 0.0
        self.monthly_fee = pence(tab.get("monthly_fee", 0)) if is_sub else 0
        self.mgmt = float(tab.get("management_fee", 0.0)) if is_sub else 0.0
        self.on_failure = tab.get("on_failure", "transfer") if is_sub else "transfer"
        if self.on_failure not in ("transfer", "lose_service"):
            raise ValueError(f"{pid}: bad on_failure {self.on_failure!r}")


class Segment:
    pass


def apply_set(raw: dict, assignment: str) -> None:
    """pbrsim-style override PATH=VALUE (dotted path, `key[index]` parts)."""
    path, _, value = assignment.partition("=")
    path, value = path.strip(), value.strip()
    try:
        val = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        val = value
    parts = path.split(".")
    node = raw
    for i, part in enumerate(parts):
        m = re.fullmatch(r"([^\[\]]+)(?:\[(\d+)\])?", part)
        key, index = m.group(1), m.group(2)
        last = i == len(parts) - 1
        if index is not None:
            lst = node[key]
            if last:
                lst[int(index)] = val
            else:
                node = lst[int(index)]
        elif last:
            node[key] = val
        else:
            node = node.setdefault(key, {})


def uncertain_plain_keys(raw: dict, path: str = ""):
    """Paths of distribution tables outside [uncertainty] and segments' effects."""
    if isinstance(raw, dict):
        if "dist" in raw:
            yield path
            return
        for k, v in raw.items():
            p = f"{path}.{k}" if path else k
            if p in ("uncertainty", "stress") or (p.startswith("segments.") and p.endswith(".effect")):
                continue
            yield from uncertain_plain_keys(v, p)
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            yield from uncertain_plain_keys(v, f"{path}[{i}]")


# Uncertain plain keys the reference models (docs/scenario-format.md, "Any
# numeric key can be uncertain"): each drawn once per iteration through the
# same copula and converted as the file's number would be.
_ID = r"[^.\[\]]+"
SUPPORTED_UNCERTAIN = [
    rf"segments\.{_ID}\.(volume|referrals_per_month)",
    rf"segments\.{_ID}\.sustained\.(dropout|baseline_hazard)",
    rf"segments\.{_ID}\.adverse_events\.rate",
    rf"segments\.{_ID}\.tariff\.(attachment|outcome|sustainment|cap_per_participant)",
    rf"segments\.{_ID}\.time_in_state\.(initial_share|entry_probability|exit_probability)",
    rf"segments\.{_ID}\.(savings_per_outcome_month|savings_per_event_avoided)",
    rf"(prime|subcontractors\.{_ID})\.(reserves|credit_line|cost_per_referral"
    r"|cost_per_participant_month|overhead_per_month|reprocurement_cost|fixed_cost_share)",
    rf"subcontractors\.{_ID}\.(fee_per_referral|pass_through|management_fee|monthly_fee)",
    rf"investors\.{_ID}\.(committed_capital|return_cap_multiple|return_cap_annual_rate"
    r"|excess_share)",
    r"payments\.(cap_per_year|cap_total|service_fee_per_month)",
    r"payments\.(improvement|additional_outcomes)\[\d+\]\.price_per_unit",
    r"payments\.improvement\[\d+\]\.comparison\.value",
    r"payments\.fee_for_service\.(annual_fee|reconciliation_price_per_referral)",
    r"commissioner\.discount_rate",
    r"co_funder\.share",
    r"commissioner\.own_costs_per_month",
]
# keys drawn in `simulate` through their own attributes (sg.volume, sg.d_spec)
_SEG_SPEC_KEYS = (".volume", ".sustained.dropout")
PROVIDER_MONEY = {"reserves": "reserves", "credit_line": "credit_line",
                  "cost_per_referral": "cpr", "cost_per_participant_month": "cppm",
                  "overhead_per_month": "overhead", "fee_per_referral": "fee_per_referral",
                  "reprocurement_cost": "reprocurement", "monthly_fee": "monthly_fee"}
PROVIDER_SHARE = {"pass_through": "pass_through", "management_fee": "mgmt"}
INVESTOR_KEYS = {"committed_capital": ("commit", True), "return_cap_multiple": ("mult", False),
                 "return_cap_annual_rate": ("rate", False), "excess_share": ("xs", False)}


def money_draw(x):
    """A drawn amount of money -> integer pence, rounded half away from zero."""
    return round_half_away(np.asarray(x, dtype=float) * 100.0).astype(np.int64)


class Scenario:
    def __init__(self, path: str, overrides=()):
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        for o in overrides:
            apply_set(raw, o)
        self.raw = raw
        keys = list(uncertain_plain_keys(raw))
        unsupported = [p for p in keys
                       if not any(re.fullmatch(rx, p) for rx in SUPPORTED_UNCERTAIN)]
        if unsupported:
            raise SystemExit(
                "the reference does not model these uncertain plain keys: "
                f"{unsupported}; it models only: " + ", ".join(
                    rx.replace(_ID, "<id>").replace("\\", "") for rx in SUPPORTED_UNCERTAIN))
        # Keys other than a segment's volume and dropout: keep the distribution
        # (drawn in `simulate`) and parse the scenario with a placeholder 0.
        self.unc = {}
        for p in keys:
            if p.startswith("segments.") and p.endswith(_SEG_SPEC_KEYS):
                continue
            node, last = raw, None
            for part in p.split("."):
                if last is not None:
                    node = node[last]
                m = re.fullmatch(r"([^\[\]]+)(?:\[(\d+)\])?", part)
                if m.group(2) is not None:
                    node, last = node[m.group(1)], int(m.group(2))
                else:
                    last = m.group(1)
            self.unc[p] = node[last]
            # Keys that planning quantities use (a fixed cost share's planned
            # caseload cost) are parsed at their mean, the base contract's
            # value (docs/model.md 2); the others with a placeholder 0. Both
            # are replaced by the draw in `simulate`.
            node[last] = (dist_mean(node[last]) if p.endswith(
                (".cost_per_referral", ".cost_per_participant_month", ".referrals_per_month")) else 0)
        self.name = raw["name"]
        # counts = "expected": every participant-level count is its expectation,
        # rounded half away from zero (model.md 2, counts at their expectations)
        self.expected = raw.get("counts", "random") == "expected"
        if raw.get("counts", "random") not in ("random", "expected"):
            raise ValueError("counts must be \"random\" or \"expected\"")
        H = self.H = int(raw["time"]["horizon_months"])
        R = self.R = int(raw["time"]["referral_months"])
        Y = self.Y = -(-H // 12)

        unc = raw.get("uncertainty", {})
        self.factors = list(unc.get("factors", []))
        self.volume = unc.get("volume", 1.0)
        self.cost = unc.get("cost", 1.0)
        self.effect = unc.get("effect", 0.0)
        if "macro" in unc and "macro_by_year" in unc:
            raise ValueError("macro and macro_by_year are exclusive")
        # Macro: one draw for a single `macro` (the same value every year); for
        # `macro_by_year`, one draw per listed year, later years repeating the
        # last listed year's draw (docs/model.md section 2).
        if "macro_by_year" in unc:
            self.macro_list = list(unc["macro_by_year"])
        else:
            self.macro_list = [unc.get("macro", 1.0)]
        self.macro_year_index = [min(y, len(self.macro_list) - 1) for y in range(Y)]

        pay = raw.get("payments", {})
        disc = self.disc = float(pay.get("price_discount", 0.0))
        self.price_year = pay.get("price_year", "referral")
        lags = pay.get("lag_months", {})
        self.lag_att = int(lags.get("attachment", 0))
        self.lag_out = int(lags.get("outcome", 0))
        self.lag_sus = int(lags.get("sustainment", 0))
        self.lag_sf = int(lags.get("service_fee", 0))
        self.cap_year = pence(pay["cap_per_year"]) if "cap_per_year" in pay else None
        self.cap_total = pence(pay["cap_total"]) if "cap_total" in pay else None
        self.sf = pence(pay.get("service_fee_per_month", 0))

        com = raw.get("commissioner", {})
        self.r = float(com.get("discount_rate", 0.035))
        self.own_costs = pence(com.get("own_costs_per_month", 0))
        self.co_share = float(raw["co_funder"]["share"]) if "co_funder" in raw else None
        self.payers, self.pool = read_payers(raw)

        # segments (file order)
        self.segments = []
        subs_raw = raw.get("subcontractors", {})
        self.sub_ids = list(subs_raw.keys())
        prov_index = {"prime": 0}
        for j, sid in enumerate(self.sub_ids):
            prov_index[sid] = j + 1
        for sid, st in raw["segments"].items():
            sg = Segment()
            sg.id = sid
            if sum(k in st for k in ("sustained", "adverse_events", "time_in_state")) != 1:
                raise ValueError(f"{sid}: exactly one of sustained / adverse_events / time_in_state")
            sg.ae = "adverse_events" in st
            sg.tis = "time_in_state" in st
            if sg.tis:
                # 4d: time in a state, a two-state monthly chain per person
                ts = st["time_in_state"]
                sg.f = int(ts["follow_up_months"])
                sg.pi = float(ts.get("initial_share", 0.0))
                sg.a = float(ts["entry_probability"])
                sg.b = float(ts["exit_probability"])
                sg.w = int(ts.get("service_months", sg.f))
                sg.h, sg.q, sg.d, sg.M, sg.S, sg.L, sg.V = 0.0, 1, 0.0, 0, 0, 1, 0
                sg.A = 0
            elif sg.ae:
                # 4b: counted adverse events over a follow-up; no entries into outcome
                ae = st["adverse_events"]
                sg.mu = float(ae["rate"])
                sg.f = int(ae["follow_up_months"])
                sg.k = float(ae["frailty_shape"]) if "frailty_shape" in ae else None
                sg.w = int(ae.get("service_months", sg.f))
                sg.h, sg.q, sg.d, sg.M, sg.S, sg.L, sg.V = 0.0, 1, 0.0, 0, 0, 1, 0
                sg.A = pence(st.get("savings_per_event_avoided", 0))
            else:
                sus = st["sustained"]
                sg.h = float(sus["baseline_hazard"])
                sg.w = int(sus["window_months"])
                sg.q = int(sus.get("qualifying_months", 1))
                # A number, or a distribution drawn per iteration (simulate).
                sg.d_spec = sus.get("dropout", 0.0)
                sg.d = 0.0 if isinstance(sg.d_spec, dict) else float(sg.d_spec)
                sg.M = int(sus.get("max_sustainment_months", 0))
                sg.S = int(st.get("savings_months", sg.q + sg.M))
                sg.L = max(sg.q + sg.M, sg.S, 1)
                sg.V = pence(st.get("savings_per_outcome_month", 0))
                sg.A = 0
            rpm = st["referrals_per_month"]
            if isinstance(rpm, list):
                if len(rpm) != R:
                    raise ValueError(f"{sid}: profile must have {R} entries")
                sg.lam = np.array(rpm, dtype=float)
            else:
                sg.lam = np.full(R, float(rpm))
            # The segment's own volume multiplier: a number or a distribution.
            sg.volume = st.get("volume", 1.0)
            sg.process = st.get("referral_process", "poisson")
            sg.effect = st.get("effect", None)
            alloc = st["allocation"]
            sg.shares = [(prov_index[k], float(v)) for k, v in alloc.items() if float(v) > 0]
            # delivery groups: prime's group always first, then subs with share > 0
            sg.group_prov = [0] + sorted({p for p, _ in sg.shares if p != 0})
            tar = st.get("tariff", {})
            # Prices by contract year, discounted, rounded to the penny.
            def tariff(key):
                return [int(round_half_away(pence(v) * (1.0 - disc)))
                        for v in per_year(tar.get(key, 0), Y)]
            sg.att = tariff("attachment")
            sg.out = tariff("outcome")
            sg.sus = tariff("sustainment")
            sg.blend_fee = [0] * Y
            if "blended" in pay:
                blend(self, sg, sid, per_year(pay["blended"]["fee_share"], Y))
            cap = sg.cap = pence(tar["cap_per_participant"]) if "cap_per_participant" in tar else None
            if cap is not None and self.price_year != "referral":
                raise ValueError("cap_per_participant needs price_year = referral")
            # Per referral year: capped prices and what the cap removes.
            sg.att_c, sg.att_rm = [], []
            pool_vecs = []
            for y in range(Y):
                if cap is None:
                    a, o, s_ = sg.att[y], sg.out[y], [sg.sus[y]] * sg.M
                else:
                    left = cap
                    a = min(sg.att[y], left); left -= a
                    o = min(sg.out[y], left); left -= o
                    s_ = []
                    for _ in range(sg.M):
                        v = min(sg.sus[y], left); left -= v
                        s_.append(v)
                sg.att_c.append(a)
                sg.att_rm.append(sg.att[y] - a)
                pool_vecs.append((o, tuple(s_), sg.out[y] - o,
                                  tuple(sg.sus[y] - v for v in s_)))
            # Price pools: referral years with identical outcome/sustainment prices
            # are merged (stay lengths are i.i.d., so this is exact in distribution).
            if self.price_year == "referral":
                uniq = []
                sg.pool_of_year = []
                for v in pool_vecs:
                    if v not in uniq:
                        uniq.append(v)
                    sg.pool_of_year.append(uniq.index(v))
                sg.P = len(uniq)
                # price[pool, age-1] and participant-cap removal by age
                sg.price = np.zeros((sg.P, sg.L + 1), dtype=np.int64)
                sg.prm = np.zeros((sg.P, sg.L + 1), dtype=np.int64)
                for p, (o, s_, orm, srm) in enumerate(uniq):
                    if sg.q <= sg.L:
                        sg.price[p, sg.q] = o
                        sg.prm[p, sg.q] = orm
                    for k in range(1, sg.M + 1):
                        sg.price[p, sg.q + k] = s_[k - 1]
                        sg.prm[p, sg.q + k] = srm[k - 1]
            else:
                sg.pool_of_year = [0] * Y
                sg.P = 1
            sg.pool_of_month = np.array([sg.pool_of_year[m // 12] for m in range(R)])
            self.segments.append(sg)

        maxw = max(s.w for s in self.segments)
        D = self.D = min(R + maxw - 1, H)
        self.sf_months = min(int(pay.get("service_fee_months", D)), H)
        self.providers = [Provider("prime", raw.get("prime", {}), D, H, False)]
        for sid in self.sub_ids:
            self.providers.append(Provider(sid, subs_raw[sid], D, H, True))
        # Planned caseload cost P_d(t) at volume 1, in pence (docs/model.md 6).
        for d, pv in enumerate(self.providers):
            P = np.zeros(H)
            for sg in self.segments:
                share = dict(sg.shares).get(d, 0.0)
                if share <= 0.0:
                    continue
                for t in range(H):
                    lo, hi = max(0, t - sg.w + 1), min(t, R - 1)
                    inprog = float(sg.lam[lo:hi + 1].sum()) if lo <= hi else 0.0
                    new = sg.lam[t] if t < R else 0.0
                    P[t] += share * (pv.cpr * new + pv.cppm * inprog)
            pv.planned = P
        seg_index = {sg.id: i for i, sg in enumerate(self.segments)}
        # global delivery-group index: segments in file order, then providers
        # (prime first, then subcontractors in file order)
        self.G_all = 0
        for sg in self.segments:
            sg.goff = self.G_all
            self.G_all += len(sg.group_prov)

        def disc_price(v):
            return int(round_half_away(pence(v) * (1.0 - disc)))

        # ---- [[payments.improvement]] (MODEL 5, docs/model.md 5)
        self.rules = []
        labels = {}
        for rr in pay.get("improvement", []):
            ru = Segment()
            ru.label = rr["label"]
            ru.measure = rr["measure"]
            ru.tis = ru.measure == "time_in_state"
            kind = "tis" if ru.tis else "ae"
            ids = rr.get("segments", [sg.id for sg in self.segments if getattr(sg, kind)])
            ru.segs = [seg_index[x] for x in ids]
            if not all(getattr(self.segments[x], kind) for x in ru.segs):
                raise ValueError(f"improvement {ru.label}: measure {ru.measure} needs "
                                 f"{'time-in-state' if ru.tis else 'adverse-event'} segments")
            if ru.measure not in ("binary", "frequency", "frequency_per_person_with_event",
                                  "time_in_state"):
                raise ValueError(f"bad measure {ru.measure!r}")
            cmp_ = rr["comparison"]
            ru.kind = cmp_["kind"]
            if ru.kind == "simulated":
                ru.pp = float(cmp_["per_participant"])
            elif ru.kind == "baseline":
                ru.value = float(cmp_["value"])
                ru.drift = float(cmp_.get("drift_per_year", 0.0))
            else:
                raise ValueError(f"bad comparison kind {ru.kind!r}")
            ru.F = max(self.segments[x].f for x in ru.segs)
            # interim measurements after k months of follow-up (time in state only)
            ru.interims = [int(k) for k in rr.get("interim_months", [])]
            if ru.interims and not ru.tis:
                raise ValueError("interim_months need the time_in_state measure")
            ru.ivals = cmp_.get("interim_values")
            ru.mlag = int(rr.get("measurement_lag_months", 0))
            ru.lag = int(rr.get("lag_months", 0))
            ru.cohorts = []          # (from, to, threshold in millionths, measurement month)
            for c in rr["cohorts"]:
                fr, to = int(c["from_month"]), int(c["to_month"])
                ru.cohorts.append((fr, to, int(round_half_away(float(c["threshold"]) * 1e6)),
                                   to - 1 + ru.F + ru.mlag))
            ru.final_th = (int(round_half_away(float(rr["final_threshold"]) * 1e6))
                           if "final_threshold" in rr else None)
            ru.final_mm = max(c[3] for c in ru.cohorts)
            ru.inter_mm = [[to - 1 + k + ru.mlag for k in ru.interims]
                           for (fr, to, _, _) in ru.cohorts]
            ru.price = [disc_price(v) for v in per_year(rr["price_per_unit"], Y)]
            ru.req = labels[rr["requires"]] if "requires" in rr else None
            # cohort index of each referral month (-1: not measured)
            ru.cohort_of = np.full(R, -1)
            for j, (fr, to, _, _) in enumerate(ru.cohorts):
                ru.cohort_of[fr:to] = j
            labels[ru.label] = len(self.rules)
            self.rules.append(ru)

        # ---- [[payments.additional_outcomes]] (docs/model.md 5)
        self.additional = []
        for ra in pay.get("additional_outcomes", []):
            ad = Segment()
            ad.label = ra["label"]
            ids = ra.get("segments", [sg.id for sg in self.segments if not sg.ae])
            ad.segs = [seg_index[x] for x in ids]
            ad.baseline = [float(v) for v in per_year(ra["baseline"], Y)]
            ad.rolling = bool(ra.get("rolling", False))
            ad.price = [disc_price(v) for v in per_year(ra["price_per_unit"], Y)]
            ad.lag = int(ra.get("lag_months", 0))
            self.additional.append(ad)

        # ---- [payments.fee_for_service] (docs/model.md 5); not discounted
        ff = pay.get("fee_for_service")
        if ff is not None:
            self.ffs = Segment()
            self.ffs.fee = [pence(v) for v in per_year(ff["annual_fee"], Y)]
            self.ffs.base = float(ff["baseline_referrals_per_year"])
            self.ffs.band = float(ff.get("band", 0.0))
            self.ffs.price = pence(ff.get("reconciliation_price_per_referral", 0))
            self.ffs.lag = int(ff.get("lag_months", 0))
        else:
            self.ffs = None

        # ---- [investors.<id>] (MODEL 8, docs/model.md 8)
        self.investors = []
        for iid, it in raw.get("investors", {}).items():
            inv = Segment()
            inv.id = iid
            inv.d = prov_index[it["funds"]]
            inv.commit = pence(it["committed_capital"])
            if ("return_cap_multiple" in it) == ("return_cap_annual_rate" in it):
                raise ValueError(f"investor {iid}: give exactly one return cap")
            inv.mult = float(it["return_cap_multiple"]) if "return_cap_multiple" in it else None
            inv.rate = float(it["return_cap_annual_rate"]) if "return_cap_annual_rate" in it else None
            inv.xs = float(it.get("excess_share", 0.0))
            self.investors.append(inv)

        # ---- [termination] (docs/model.md 7, "The commissioner ends the
        # contract early"): a break month and/or a trigger on one party's
        # cumulative net, a notice, and a payment to the prime
        self.term = None
        if "termination" in raw:
            tr = raw["termination"]
            tm = Segment()
            tm.break_month = int(tr["break_month"]) if "break_month" in tr else -1
            tm.notice = int(tr.get("notice_months", 0))
            tm.payment = pence(tr.get("payment", 0))
            tm.account = None
            if "on_net" in tr:
                party = tr["on_net"]["party"]
                tm.account = 0 if party == "commissioner" else 2 + prov_index[party]
                tm.below = pence(tr["on_net"]["below"])
            # minimum performance levels: outcome events falling in months
            # from..to-1 over referrals made in them, measured at the end of
            # month to-1; below the minimum (exactly, in millionths) ends the
            # contract after the notice
            tm.levels = []
            sus_ids = [sid for sid, st in raw["segments"].items() if "sustained" in st]
            for lv in tr.get("minimum_performance", []):
                L = Segment()
                L.label = lv["label"]
                L.segs = [list(raw["segments"]).index(x) for x in lv.get("segments", sus_ids)]
                L.prov = prov_index[lv["provider"]] if "provider" in lv else None
                L.frm, L.to = int(lv["from_month"]), int(lv["to_month"])
                L.ppm = int(round_half_away(float(lv["minimum"]) * 1e6))
                L.shift = lv["consequence"] == "shift"
                if L.shift:
                    L.dest = prov_index[lv["shift_to"]]
                    L.sh = float(lv["share"])
                L.idx = len(tm.levels)
                tm.levels.append(L)
            self.term = tm

        parse_risk_sharing(self, raw, prov_index)
        parse_instruments(self, raw, prov_index)

        last_mm = max([0] + [ru.final_mm for ru in self.rules])
        self.T_end = max(H, max(R + s.w for s in self.segments),
                         (1 + last_mm) if self.rules else 0)

    def event_price(self, sg, rule, month):
        """Event-year tariff for a payment event in `month` (clamped to the last year)."""
        y = min(month // 12, self.Y - 1)
        return (sg.out if rule == "out" else sg.sus)[y]


def blend(sc, sg, sid, shares):
    """Blended payment (docs/model.md, Blended payment): share f_y of each
    outcome and sustainment price moves to a fee per referral, the expected
    payments of that share per referral at plan (base-model hazard and
    dropout, median effect and economy, payments due before the horizon),
    averaged over the referral year's months weighted by planned referrals."""
    def median(spec):
        if not isinstance(spec, dict):
            return float(spec)
        x = float(quantile(spec, np.array([0.5]))[0])
        return float(spec.get("shift", 0.0)) + float(spec.get("scale", 1.0)) * x

    Y, R, H = sc.Y, sc.R, sc.H
    fee = [0] * Y
    if not sg.ae and not sg.tis:
        eff = median(sg.effect if sg.effect is not None else sc.effect)
        macro = [median(sc.macro_list[sc.macro_year_index[y]]) for y in range(Y)]
        h = dist_mean(sc.unc.get(f"segments.{sid}.sustained.baseline_hazard", sg.h))
        stay = 1.0 - dist_mean(sg.d_spec)
        event = sc.price_year == "event"
        for y in range(Y):
            months = list(range(12 * y, min(12 * (y + 1), R)))
            if not months:
                continue
            planned = sum(float(sg.lam[m]) for m in months)
            total = 0.0
            for m in months:
                w = float(sg.lam[m]) / planned if planned > 0 else 1.0 / len(months)
                waiting, value = 1.0, 0.0
                for e in range(m, m + sg.w):
                    p = 1.0 - math.exp(-h * macro[min(e // 12, Y - 1)] * max(0.0, 1.0 + eff))
                    entrants = waiting * p
                    waiting -= entrants
                    for k in range(sg.M + 1):
                        t = e + sg.q - 1 + k
                        if t + (sc.lag_out if k == 0 else sc.lag_sus) >= H:
                            continue
                        py = min(t // 12, Y - 1) if event else y
                        price = sg.out[py] if k == 0 else sg.sus[py]
                        value += entrants * stay ** (sg.q - 1 + k) * shares[py] * price
                total += w * value
            fee[y] = int(round_half_away(total))
    sg.out = [int(round_half_away((1.0 - shares[y]) * sg.out[y])) for y in range(Y)]
    sg.sus = [int(round_half_away((1.0 - shares[y]) * sg.sus[y])) for y in range(Y)]
    sg.att = [sg.att[y] + fee[y] for y in range(Y)]
    sg.blend_fee = fee


# --------------------------------------------------------------------------
# Uncertain parameters: Gaussian copula, marginal by inversion
# --------------------------------------------------------------------------

def parse_instruments(sc, raw, prov_index):
    """[[volume_guarantees]], [[advances]] and [alliance] (docs/model.md 8a)."""
    NP = len(sc.providers)

    def between(b):
        # (payer account, recipient provider)
        return (0, 0) if b[0] == "commissioner" else (2, prov_index[b[1]])

    sc.guarantees = []
    for g in raw.get("volume_guarantees", []):
        G = Segment()
        G.label = g["label"]
        G.payer, G.d = between(g["between"])
        G.th = float(g["threshold"])
        G.per = pence(g["per_missing_referral"]) if "per_missing_referral" in g else None
        G.top = pence(g["top_up"]) if "top_up" in g else None
        # the referral plan at volume 1 (each segment's own volume at its mean)
        G.F = np.zeros(sc.R)
        for sg in sc.segments:
            share = 1.0 if G.payer == 0 else dict(sg.shares).get(G.d, 0.0)
            vol = dist_mean(sg.volume) if isinstance(sg.volume, dict) else float(sg.volume)
            G.F += sg.lam[:sc.R] * vol * share
        sc.guarantees.append(G)
    sc.advances = []
    for a in raw.get("advances", []):
        A = Segment()
        A.label = a["label"]
        A.payer, A.d = between(a["between"])
        A.amount = pence(a["amount"])
        A.month = int(a.get("month", 0))
        A.share = float(a["recovery_share"])
        A.repay = a["on_shortfall"] == "repay"
        sc.advances.append(A)
    sc.alliance = None
    if "alliance" in raw:
        al = raw["alliance"]
        A = Segment()
        A.s = np.zeros(NP)
        for k, v in al["members"].items():
            A.s[prov_index[k]] = float(v)
        A.g = A.s.copy()
        if "gain_pain_shares" in al:
            A.g = np.zeros(NP)
            for k, v in al["gain_pain_shares"].items():
                A.g[prov_index[k]] = float(v)
        A.budget = [pence(x) for x in per_year(al["budget"], sc.Y)]
        sc.alliance = A


def quantile(spec: dict, u: np.ndarray) -> np.ndarray:
    dist = spec["dist"]
    if dist == "uniform":
        return spec["min"] + u * (spec["max"] - spec["min"])
    if dist == "normal":
        mu, sd = float(spec["mean"]), float(spec["sd"])
        lo, hi = float(spec.get("min", -np.inf)), float(spec.get("max", np.inf))
        if np.isinf(lo) and np.isinf(hi):
            return mu + sd * special.ndtri(u)
        fa, fb = special.ndtr((lo - mu) / sd), special.ndtr((hi - mu) / sd)
        return np.clip(mu + sd * special.ndtri(fa + u * (fb - fa)), lo, hi)
    if dist == "lognormal":
        if "median" in spec:
            mu, sigma = math.log(spec["median"]), float(spec["sigma"])
        else:
            m, sd = float(spec["mean"]), float(spec["sd"])
            s2 = math.log(1.0 + (sd / m) ** 2)
            mu, sigma = math.log(m) - s2 / 2.0, math.sqrt(s2)
        return np.exp(mu + sigma * special.ndtri(u))
    if dist == "beta":
        lo, hi = float(spec.get("min", 0.0)), float(spec.get("max", 1.0))
        return lo + (hi - lo) * special.betaincinv(spec["alpha"], spec["beta"], u)
    if dist == "triangular":
        a, c, b = float(spec["min"]), float(spec["mode"]), float(spec["max"])
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)
    if dist == "pert":
        a, c, b = float(spec["min"]), float(spec["mode"]), float(spec["max"])
        lam = float(spec.get("lambda", 4.0))
        al = 1.0 + lam * (c - a) / (b - a)
        be = 1.0 + lam * (b - c) / (b - a)
        return a + (b - a) * special.betaincinv(al, be, u)
    raise ValueError(f"unknown dist {dist!r}")


def draw_param(spec, n, rng, F, factor_names):
    if not isinstance(spec, dict):
        return np.full(n, float(spec))
    e = rng.standard_normal(n)
    if "factor" in spec:
        l = float(spec["loading"])
        z = l * F[:, factor_names.index(spec["factor"])] + math.sqrt(max(0.0, 1.0 - l * l)) * e
    else:
        z = e
    u = np.clip(special.ndtr(z), 2.0 ** -53, 1.0 - 2.0 ** -53)
    x = quantile(spec, u)
    if "scale" in spec or "shift" in spec:              # a stress's shock in place
        x = float(spec.get("shift", 0.0)) + float(spec.get("scale", 1.0)) * x
    return x


def dist_mean(spec) -> float:
    """The mean of a distribution table (after scale and shift): the base
    contract's value of an uncertain key (docs/model.md 2)."""
    if not isinstance(spec, dict):
        return float(spec)
    d = spec["dist"]
    if d == "uniform":
        m = (float(spec["min"]) + float(spec["max"])) / 2.0
    elif d == "normal":
        mu, sd = float(spec["mean"]), float(spec["sd"])
        a = (float(spec.get("min", -np.inf)) - mu) / sd
        b = (float(spec.get("max", np.inf)) - mu) / sd
        pa = 0.0 if np.isinf(a) else math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        pb = 0.0 if np.isinf(b) else math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
        m = mu + sd * (pa - pb) / (special.ndtr(b) - special.ndtr(a))
    elif d == "lognormal":
        if "median" in spec:
            m = float(spec["median"]) * math.exp(float(spec["sigma"]) ** 2 / 2.0)
        else:
            m = float(spec["mean"])
    elif d == "beta":
        lo, hi = float(spec.get("min", 0.0)), float(spec.get("max", 1.0))
        al, be = float(spec["alpha"]), float(spec["beta"])
        m = lo + (hi - lo) * al / (al + be)
    elif d == "triangular":
        m = (float(spec["min"]) + float(spec["mode"]) + float(spec["max"])) / 3.0
    elif d == "pert":
        lam = float(spec.get("lambda", 4.0))
        m = (float(spec["min"]) + lam * float(spec["mode"]) + float(spec["max"])) / (lam + 2.0)
    else:
        raise ValueError(f"unknown dist {d!r}")
    return float(spec.get("shift", 0.0)) + float(spec.get("scale", 1.0)) * m


# --------------------------------------------------------------------------
# Counted adverse events (4b)
# --------------------------------------------------------------------------

def event_pmf(mean: np.ndarray, k, tail: float = 1e-15, jmax: int = 5000):
    """One person's distribution of events over the follow-up, for each mean
    (vector): negative binomial with shape k (gamma frailty, mean 1), or Poisson
    for k None. Returns pvals [n, J+1] whose last column holds the whole tail
    P(X >= J) (J large enough that this is below `tail`), and the values 0..J."""
    mean = np.asarray(mean, dtype=float)
    mx = float(mean.max()) if mean.size else 0.0
    if k is None:
        dist = stats.poisson(mx)
    else:
        dist = stats.nbinom(k, k / (k + mx)) if mx > 0 else None
    if dist is None or mx <= 0:
        J = 1
    else:
        J = int(dist.isf(tail)) + 2
        J = max(2, min(J, jmax))
    j = np.arange(J)
    if k is None:
        pm = stats.poisson.pmf(j[None, :], mean[:, None])
    else:
        pm = stats.nbinom.pmf(j[None, :], k, (k / (k + mean))[:, None])
    last = np.clip(1.0 - pm.sum(axis=1, keepdims=True), 0.0, None)
    pv = np.concatenate([pm, last], axis=1)
    pv /= pv.sum(axis=1, keepdims=True)
    return pv, np.arange(J + 1)


class PmfCache:
    """Event distributions by (segment, mean vector id): the mean of a cohort only
    changes with the contract year of its referral month."""

    def __init__(self):
        self.store = {}

    def get(self, key, mean, k):
        hit = self.store.get(key)
        if hit is None:
            hit = event_pmf(mean, k)
            self.store[key] = hit
        return hit


def draw_events(rng, N, pv, vals):
    """Histogram of a cohort of N[i] people: returns (people with an event, events)."""
    P = np.zeros(N.shape, dtype=np.int64)
    E = np.zeros(N.shape, dtype=np.int64)
    nz = N > 0
    if nz.any():
        cnt = rng.multinomial(N[nz], pv[nz])           # [n, J+1]
        P[nz] = N[nz] - cnt[:, 0]
        E[nz] = cnt @ vals
    return P, E


def measure_counts(measure, N, P, E):
    if measure == "binary":
        return P, N
    if measure == "frequency":
        return E, N
    return E, P                                         # frequency_per_person_with_event


def judge(num_t, den_t, a, b, th):
    """Verdict of one measurement, vectorised over iterations. Treated T = num_t/den_t,
    comparison C = a/b (integers), threshold th in millionths. Exact integer test
    (a e - t b) 10^6 >= th a e. Returns (defined, met, relative improvement, units)."""
    defined = (den_t > 0) & (b > 0) & (a > 0)
    ao = a.astype(object)
    bo = b.astype(object)
    to = num_t.astype(object)
    eo = den_t.astype(object)
    lhs = (ao * eo - to * bo) * 10 ** 6
    rhs = int(th) * ao * eo
    met = defined & np.array(lhs >= rhs, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        C = a / np.where(b > 0, b, 1)
        T = num_t / np.where(den_t > 0, den_t, 1)
        ri = np.where(defined, (C - T) / np.where(C != 0, C, 1), np.nan)
        U = np.where(defined, (C - T) * den_t, 0.0)
    return defined, met, ri, U


def expected_events(N, mean, k):
    """counts = "expected" (4b): round(N (1 - P0)) people with an event and
    round(N mean) events, P0 the chance of no event."""
    if k is None:
        p0 = np.exp(-mean)
    else:
        p0 = (k / (k + mean)) ** k
    P = round_half_away(N * np.clip(1.0 - p0, 0.0, 1.0)).astype(np.int64)
    E = round_half_away(N * np.maximum(mean, 0.0)).astype(np.int64)
    return P, np.maximum(E, P)


def expected_chain_months(N, pi, a, b, f):
    """counts = "expected" (4d): round(N pi) in the state in month 0; then
    round(i b) of the i in it leave and round((N - i) a) enter, month by month.
    Cumulative person-months in the state after 1..f months, [I, f]."""
    N = N.astype(float)
    now = round_half_away(N * pi)
    out = np.zeros((N.shape[0], f), dtype=np.int64)
    total = now.copy()
    out[:, 0] = total
    for j in range(1, f):
        now = now - round_half_away(now * b) + round_half_away((N - now) * np.minimum(a, 1.0))
        total = total + now
        out[:, j] = total
    return out


def chain_months(rng, N, pi, a, b, f):
    """Time in a state (4d): each of N [I] people is in the state in month 0 with
    probability pi, then enters it with probability a [I] (or leaves it with b)
    each month. Returns the cumulative person-months in the state after 1..f
    months, [I, f]. Drawn per person-month as Bernoulli trials over a padded
    person axis (an independent method from the engine's counts)."""
    I = N.shape[0]
    width = int(N.max()) if I else 0
    out = np.zeros((I, f), dtype=np.int64)
    if width == 0:
        return out
    alive = np.arange(width)[None, :] < N[:, None]          # [I, width]
    if np.ndim(pi):                                          # drawn per iteration
        pi = pi[:, None]
    if np.ndim(b):
        b = b[:, None]
    y = (rng.random((I, width)) < pi) & alive
    total = np.zeros(I, dtype=np.int64)
    for j in range(f):
        if j > 0:
            u = rng.random((I, width))
            y = np.where(y, u >= b, u < a[:, None]) & alive
        total = total + y.sum(axis=1)
        out[:, j] = total
    return out


def base_count(C, I):
    """A baseline rate as a count over 10^9 (a number, or drawn [I])."""
    if np.ndim(C):
        return round_half_away(C * 1e9).astype(np.int64)
    return np.full(I, int(round_half_away(C * 1e9)), dtype=np.int64)


def irr_annual(x: np.ndarray) -> np.ndarray:
    """Annual IRR of monthly flows x[I, H] by bisection of the monthly rate in
    [-0.5, 1.5] (200 halvings); NaN without flows of both signs or a sign change."""
    I, H = x.shape
    t = np.arange(H)

    def npv(rho):
        return (x * (1.0 + rho)[:, None] ** (-t[None, :])).sum(axis=1)

    lo = np.full(I, -0.5)
    hi = np.full(I, 1.5)
    flo, fhi = npv(lo), npv(hi)
    ok = (x > 0).any(axis=1) & (x < 0).any(axis=1) & (np.sign(flo) != np.sign(fhi)) \
        & (flo != 0) & (fhi != 0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = npv(mid)
        left = np.sign(fm) == np.sign(flo)
        lo = np.where(left, mid, lo)
        flo = np.where(left, fm, flo)
        hi = np.where(left, hi, mid)
    rho = 0.5 * (lo + hi)
    return np.where(ok, (1.0 + rho) ** 12 - 1.0, np.nan)


# --------------------------------------------------------------------------
# One batch of iterations
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Several public payers and a pooled budget (docs/model.md section 11)
# --------------------------------------------------------------------------

PAYER_RULES = ["service_fee", "fee_for_service", "attachment", "outcome",
               "sustainment", "improvement", "termination", "corridor", "floor",
               "volume_guarantee"]
SHARE_UNIT = 10**9


class Payer:
    pass


def read_payers(raw: dict):
    """[payers.<id>] and [pooled_budget] -> (list of Payer, pool dict or None).
    Shares are held in parts per 10^9 (nine decimal places)."""
    pool = None
    if "pooled_budget" in raw:
        pb = raw["pooled_budget"]
        pool = {
            "upfront": pence(pb.get("contribution_upfront", 0)),
            "per_year": pence(pb.get("contribution_per_year", 0)),
            "rules": set(pb.get("rules", PAYER_RULES)),
            "keep": pb.get("on_end", "return") == "keep",
        }
    seg_ids = list(raw["segments"])
    payers = []
    for pid, tab in raw.get("payers", {}).items():
        p = Payer()
        p.id = pid
        default = float(tab.get("share", 0.0))
        p.rule = {}
        for r in PAYER_RULES:
            pooled = pool is not None and r in pool["rules"]
            p.rule[r] = 0 if pooled else int(round(default * SHARE_UNIT))
        for r, v in tab.get("rules", {}).items():
            p.rule[r] = int(round(float(v) * SHARE_UNIT))
        p.budget = pence(tab["budget_per_year"]) if "budget_per_year" in tab else None
        p.cap = pence(tab["cap_total"]) if "cap_total" in tab else None
        d = float(tab.get("savings_share", 0.0))
        p.sav = [float(tab.get("savings", {}).get(sid, d)) for sid in seg_ids]
        p.uniform = d if all(x == d for x in p.sav) else None
        p.pool = int(round(float(tab.get("pool_share", 0.0)) * SHARE_UNIT))
        payers.append(p)
    return payers, pool


class PublicBodies:
    """The bodies' shares of each payment, vectorised over iterations.
    Accounts: the commissioner (0), each payer (`first`, `first + 1`, ...),
    then the pot. Every method returns [(account, amount [I])] of money
    leaving (or, for a refund or return, coming back to) each body."""

    def __init__(self, sc, I, first):
        self.sc, self.I = sc, I
        self.payers, self.pool = sc.payers, sc.pool
        self.acc = [first + i for i in range(len(self.payers))]
        self.pot_acc = first + len(self.payers)
        n = len(self.payers)
        i64 = np.int64
        self.year_paid = np.zeros((I, n), dtype=i64)
        self.total_paid = np.zeros((I, n), dtype=i64)
        self.over = np.zeros((I, n), dtype=i64)
        self.pot = np.zeros(I, dtype=i64)
        self.contributed = np.zeros(I, dtype=i64)
        self.paid_out = np.zeros(I, dtype=i64)
        self.overrun = np.zeros(I, dtype=i64)
        self.returned = np.zeros(I, dtype=i64)
        self.kept = np.zeros(I, dtype=i64)

    def pooled(self, rule):
        return self.pool is not None and rule in self.pool["rules"]

    def by_pool_shares(self, amount):
        out, rest = [], amount.copy()
        for p, a in zip(self.payers, self.acc):
            x = (amount * p.pool) // SHARE_UNIT
            rest = rest - x
            out.append((a, x))
        out.append((0, rest))
        return out

    def pay(self, rule, amount, t):
        """Sources of `amount` [I] of `rule` paid to the prime in month t:
        [(account, amount)], the pot as account `pot_acc`."""
        if self.pooled(rule):
            from_pot = np.minimum(amount, self.pot)
            self.pot -= from_pot
            self.paid_out += from_pot
            over = amount - from_pot
            self.overrun += over
            return [(self.pot_acc, from_pot)] + self.by_pool_shares(over)
        out, rest = [], amount.copy()
        for i, (p, a) in enumerate(zip(self.payers, self.acc)):
            owed = (amount * p.rule[rule]) // SHARE_UNIT
            left = np.full(self.I, np.iinfo(np.int64).max // 4, dtype=np.int64)
            if p.budget is not None:
                left = np.minimum(left, p.budget - self.year_paid[:, i])
            if p.cap is not None:
                left = np.minimum(left, p.cap - self.total_paid[:, i])
            x = np.minimum(owed, np.maximum(left, 0))
            self.over[:, i] += owed - x
            self.year_paid[:, i] += x
            self.total_paid[:, i] += x
            rest = rest - x
            out.append((a, x))
        out.append((0, rest))
        return out

    def new_year(self):
        self.year_paid[:] = 0

    def refund(self, rule, amount):
        """Where a clawback of `rule` goes back: [(account, amount)]."""
        if self.pooled(rule):
            self.pot += amount
            self.paid_out -= amount
            return [(self.pot_acc, amount)]
        out, rest = [], amount.copy()
        for p, a in zip(self.payers, self.acc):
            x = (amount * p.rule[rule]) // SHARE_UNIT
            rest = rest - x
            out.append((a, x))
        out.append((0, rest))
        return out

    def contribution(self, t, live):
        """Paid into the pot in month t (0, or the start of a year)."""
        pool = self.pool
        amount = (pool["per_year"] if t % 12 == 0 else 0) + (pool["upfront"] if t == 0 else 0)
        amount = np.where(live, amount, 0).astype(np.int64)
        self.pot += amount
        self.contributed += amount
        return amount, self.by_pool_shares(amount)

    def end(self):
        """At the end of the last month: returned [(account, amount)] or kept."""
        left = self.pot.copy()
        self.pot[:] = 0
        if self.pool["keep"]:
            self.kept = left
            return left, []
        self.returned = left
        return left, self.by_pool_shares(left)


def payer_figures(sc, bodies, out, rev, cst, npv, own, savings, savings_npv, seg_sav, seg_sav_npv):
    """payer.<id>.* and pooled_budget.* figures, into `out`."""
    I = rev.shape[0]
    accounts = [0] + bodies.acc
    ids = ["commissioner"] + [p.id for p in sc.payers]
    sav = [None] * len(accounts)
    sav_npv = [None] * len(accounts)
    rest, rest_npv = savings.copy(), savings_npv.copy()
    for i, p in enumerate(sc.payers):
        if p.uniform is not None:
            s, sn = p.uniform * savings, p.uniform * savings_npv
        else:
            s = sum(w * x for w, x in zip(p.sav, seg_sav))
            sn = sum(w * x for w, x in zip(p.sav, seg_sav_npv))
        sav[i + 1], sav_npv[i + 1] = s + np.zeros(I), sn + np.zeros(I)
        rest, rest_npv = rest - s, rest_npv - sn
    sav[0], sav_npv[0] = rest, rest_npv
    paid = [cst[:, a] - rev[:, a] - (own if b == 0 else 0) for b, a in enumerate(accounts)]
    allp = sum(paid)
    for b, (a, pid) in enumerate(zip(accounts, ids)):
        o = own if b == 0 else 0
        nv = sav[b] - (paid[b] + o)
        pre = f"payer.{pid}."
        out[pre + "paid"] = paid[b] / 100.0
        out[pre + "savings"] = sav[b] / 100.0
        out[pre + "net_value"] = nv / 100.0
        out[pre + "npv"] = (sav_npv[b] + npv[:, a]) / 100.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out[pre + "wrong_pocket"] = np.where(
                allp != 0, sav[b] - savings * (paid[b] / np.where(allp != 0, allp, 1)), np.nan) / 100.0
        out[pre + "loss"] = (nv < 0).astype(float)
        if b > 0:
            out[pre + "over_budget"] = bodies.over[:, b - 1] / 100.0
    if sc.pool is not None:
        out["pooled_budget.contributed"] = bodies.contributed / 100.0
        out["pooled_budget.paid_out"] = bodies.paid_out / 100.0
        out["pooled_budget.overrun"] = bodies.overrun / 100.0
        out["pooled_budget.returned"] = bodies.returned / 100.0
        out["pooled_budget.kept"] = bodies.kept / 100.0


def simulate(sc: Scenario, n: int, rng: np.random.Generator) -> dict:
    I = n
    H, R, Y, D, T_end = sc.H, sc.R, sc.Y, sc.D, sc.T_end
    segs, provs = sc.segments, sc.providers
    rules, adds, invs, ffs = sc.rules, sc.additional, sc.investors, sc.ffs
    NP = len(provs)
    NI = len(invs)
    i64 = np.int64

    # ---- scenario-level draws
    F = rng.standard_normal((I, len(sc.factors)))
    volume = draw_param(sc.volume, I, rng, F, sc.factors)
    costm = draw_param(sc.cost, I, rng, F, sc.factors)
    macro_listed = np.stack([draw_param(m, I, rng, F, sc.factors) for m in sc.macro_list], axis=1)
    macro = macro_listed[:, sc.macro_year_index]          # [I, Y]
    eff_shared = draw_param(sc.effect, I, rng, F, sc.factors)
    eff = np.stack([eff_shared if sg.effect is None else
                    draw_param(sg.effect, I, rng, F, sc.factors) for sg in segs], axis=1)
    # Uncertain plain keys the reference models: a segment's volume and its
    # dropout (each drawn per iteration with the same copula).
    seg_volume = [draw_param(sg.volume, I, rng, F, sc.factors) for sg in segs]
    for sg in segs:
        if isinstance(getattr(sg, "d_spec", None), dict):
            sg.d = draw_param(sg.d_spec, I, rng, F, sc.factors)
    # The other uncertain plain keys: drawn here (shape [I]) and put in place
    # of the placeholder the scenario was parsed with.
    UK = {p: draw_param(spec, I, rng, F, sc.factors) for p, spec in sc.unc.items()}
    seg_by_id = {sg.id: sg for sg in segs}
    prov_by_id = {("prime" if pv.id == "prime" else "subcontractors." + pv.id): pv for pv in provs}
    inv_by_id = {iv.id: iv for iv in invs}
    tariff_draws = {}
    for p, x in UK.items():
        parts = p.split(".")
        if parts[0] == "segments":
            sg = seg_by_id[parts[1]]
            if parts[2] == "referrals_per_month":       # one number for every month
                sg.lam_draw = x
            elif parts[2:] == ["sustained", "baseline_hazard"]:
                sg.h = x
            elif parts[2:] == ["adverse_events", "rate"]:
                sg.mu = x
            elif parts[2] == "time_in_state":
                setattr(sg, {"initial_share": "pi", "entry_probability": "a",
                             "exit_probability": "b"}[parts[3]], x)
            elif parts[2] == "savings_per_outcome_month":
                sg.V = money_draw(x)
            elif parts[2] == "savings_per_event_avoided":
                sg.A = money_draw(x)
            elif parts[3] == "cap_per_participant":     # money, not discounted
                tariff_draws.setdefault(sg.id, {})["cap"] = money_draw(x)
            else:                                       # tariff.<key>: one price every year
                price = round_half_away(money_draw(x) * (1.0 - sc.disc)).astype(i64)
                tariff_draws.setdefault(sg.id, {})[parts[3]] = price
        elif parts[0] in ("prime", "subcontractors"):
            pv = prov_by_id[".".join(parts[:-1])]
            if parts[-1] == "fixed_cost_share":
                pv.fixed_share = x
            elif parts[-1] in PROVIDER_MONEY:
                setattr(pv, PROVIDER_MONEY[parts[-1]], money_draw(x))
            else:
                setattr(pv, PROVIDER_SHARE[parts[-1]], x)
        elif parts[0] == "investors":
            attr, is_money = INVESTOR_KEYS[parts[2]]
            setattr(inv_by_id[parts[1]], attr, money_draw(x) if is_money else x)
        elif p == "payments.cap_per_year":
            sc.cap_year = money_draw(x)
        elif p == "payments.cap_total":
            sc.cap_total = money_draw(x)
        elif p == "payments.service_fee_per_month":
            sc.sf = money_draw(x)
        elif p.startswith("payments.improvement["):
            ru = rules[int(re.search(r"\[(\d+)\]", p).group(1))]
            if p.endswith(".price_per_unit"):               # after the bid discount
                ru.price = [round_half_away(money_draw(x) * (1.0 - sc.disc)).astype(i64)] * Y
            else:
                ru.value = x
        elif p.startswith("payments.additional_outcomes["):
            ad = adds[int(re.search(r"\[(\d+)\]", p).group(1))]
            ad.price = [round_half_away(money_draw(x) * (1.0 - sc.disc)).astype(i64)] * Y
        elif p == "payments.fee_for_service.annual_fee":
            ffs.fee = [money_draw(x)] * Y
        elif p == "payments.fee_for_service.reconciliation_price_per_referral":
            ffs.price = money_draw(x)
        elif p == "commissioner.discount_rate":
            sc.r = x
        elif p == "co_funder.share":
            sc.co_share = x
        elif p == "commissioner.own_costs_per_month":
            sc.own_costs = money_draw(x)
        else:
            raise AssertionError(p)
    lam_drawn = {p[len("segments."):] for p in UK if p.endswith(".referrals_per_month")}
    for sid, td in tariff_draws.items():
        tariff_per_iteration(sc, seg_by_id[sid], td, I)

    # ---- state
    hist = np.zeros((I, NP, H), dtype=np.int64)           # A_d(t) by month, for notice
    failed = np.zeros((I, NP), dtype=bool)
    fail_month = np.full((I, NP), np.nan)
    live = np.ones(I, dtype=bool)
    transfer = np.array([p.on_failure == "transfer" for p in provs])

    coh = [np.zeros((I, len(sg.group_prov), R), dtype=i64) for sg in segs]
    wait = [np.zeros((I, len(sg.group_prov), R), dtype=i64) for sg in segs]
    gprov = [np.array(sg.group_prov) for sg in segs]
    # adverse events per segment and referral month (all groups), for savings
    ae_E = [np.zeros((I, R), dtype=i64) if sg.ae else None for sg in segs]
    ae_events = np.zeros(I, dtype=i64)
    ae_people = np.zeros(I, dtype=i64)
    ae_cf = np.zeros(I)
    pmfs = PmfCache()
    # outcome events by segment, group and month (< H), for additional outcomes
    out_g = [np.zeros((I, len(sg.group_prov), H), dtype=i64) for sg in segs]
    ref_month = np.zeros((I, R), dtype=i64)               # referrals, all segments

    # payments due by month (only months < H are ever paid)
    due_sf = np.zeros((I, H), dtype=i64)
    due_ffs = np.zeros((I, H), dtype=i64)                 # instalments and top-ups
    due_claw = np.zeros((I, H), dtype=i64)                # clawbacks (prime -> commissioner)
    due_att = np.zeros((I, H), dtype=i64)
    due_out = np.zeros((I, H), dtype=i64)
    due_sus = np.zeros((I, H), dtype=i64)
    due_imp = np.zeros((I, H), dtype=i64)
    # the same per segment, for the segment.<id>.paid.* figures
    S = len(segs)
    seg_due = {k: np.zeros((I, S, H), dtype=i64) for k in ("att", "out", "sus", "imp")}
    seg_paid = {k: np.zeros((I, S), dtype=i64) for k in ("att", "out", "sus", "imp")}
    seg_referrals = np.zeros((I, S), dtype=i64)
    g_seg = np.concatenate([np.full(len(sg.group_prov), si) for si, sg in enumerate(segs)])
    # outcome+sustainment+improvement due per (subcontractor, month), for pass-through
    due_sub = np.zeros((I, NP, H), dtype=i64)
    # a blended payment's fee for each subcontractor's referrals, passed
    # down at its pass-through share (counted first in the capped attachment)
    due_sub_fee = np.zeros((I, NP, H), dtype=i64)

    # improvement rules: treated tallies by cohort (people by global group, P, E),
    # comparison tallies, carry, verdicts
    nJ = [len(ru.cohorts) for ru in rules]
    tN = [np.zeros((I, nJ[r], sc.G_all), dtype=i64) for r in range(len(rules))]
    tP = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    tE = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    cN = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    cP = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    cE = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    carry = [np.zeros(I) for _ in rules]
    r_met = [np.zeros((I, nJ[r]), dtype=bool) for r in range(len(rules))]
    r_ri = [np.full((I, nJ[r]), np.nan) for r in range(len(rules))]
    r_fmet = [np.zeros(I, dtype=bool) for _ in rules]
    r_fri = [np.full(I, np.nan) for _ in rules]
    r_cearned = [np.zeros(I, dtype=i64) for _ in rules]
    # time in state: per rule, cohort and point (the interims, then the whole
    # follow-up): person-months in the state and followed, treated and comparison
    nK = [len(ru.interims) + 1 for ru in rules]
    tS = [np.zeros((I, nJ[r], nK[r]), dtype=i64) for r in range(len(rules))]
    tFm = [np.zeros((I, nJ[r], nK[r]), dtype=i64) for r in range(len(rules))]
    cS = [np.zeros((I, nJ[r], nK[r]), dtype=i64) for r in range(len(rules))]
    cFm = [np.zeros((I, nJ[r], nK[r]), dtype=i64) for r in range(len(rules))]
    r_imet = [np.zeros((I, nJ[r], nK[r] - 1), dtype=bool) for r in range(len(rules))]
    r_iri = [np.full((I, nJ[r], nK[r] - 1), np.nan) for r in range(len(rules))]
    # what each cohort's measurements have earned so far (netted off the next)
    r_coh_earned = [np.zeros((I, nJ[r]), dtype=i64) for r in range(len(rules))]
    r_earned = [np.zeros(I, dtype=i64) for _ in rules]
    a_earned = [np.zeros(I, dtype=i64) for _ in adds]
    a_prev = [np.zeros(I, dtype=i64) for _ in adds]
    # global group -> provider
    g_prov = np.concatenate([np.array(sg.group_prov) for sg in segs])

    # realised months counted for savings, per segment and month (< H)
    real_months = np.zeros((I, len(segs), H), dtype=i64)
    outcomes = np.zeros(I, dtype=i64)
    referrals = np.zeros(I, dtype=i64)

    paid_sf = np.zeros(I, dtype=i64)
    paid_ffs = np.zeros(I, dtype=i64)
    paid_att = np.zeros(I, dtype=i64)
    paid_out = np.zeros(I, dtype=i64)
    paid_sus = np.zeros(I, dtype=i64)
    paid_imp = np.zeros(I, dtype=i64)
    co_funded = np.zeros(I, dtype=i64)
    clawed_back = np.zeros(I, dtype=i64)
    rm_pcap = np.zeros(I, dtype=i64)
    rm_ccap = np.zeros(I, dtype=i64)
    beyond = np.zeros(I, dtype=i64)
    cancelled = np.zeros(I, dtype=i64)
    paid_term = np.zeros(I, dtype=i64)
    notice_end = np.full(I, -1, dtype=i64)       # month the notice ends, -1: none
    term_month = np.full(I, np.nan)
    nlev = len(sc.term.levels) if sc.term is not None else 0
    lev_value = np.full((I, nlev), np.nan)
    lev_below = np.zeros((I, nlev), dtype=bool)
    shift_on = np.zeros((I, nlev), dtype=bool)     # a shift level in force
    shifted = np.zeros((I, nlev), dtype=i64)
    shift_of = {}
    if sc.term is not None:
        for L in sc.term.levels:
            if L.shift:
                for si in L.segs:
                    shift_of[(si, L.prov)] = L
    NG, NAD = len(sc.guarantees), len(sc.advances)
    ref_prov = np.zeros((I, NP), dtype=i64)        # referrals received per provider
    ref_before = np.zeros((I, NP), dtype=i64)
    deliv = np.zeros((I, NP), dtype=i64)           # delivery costs paid per provider
    deliv_before = np.zeros((I, NP), dtype=i64)
    g_missing = np.zeros((I, NG))
    g_paid = np.zeros((I, NG), dtype=i64)
    paid_vg = np.zeros(I, dtype=i64)
    adv_out = np.zeros((I, NAD), dtype=i64)
    adv_paid = np.zeros((I, NAD), dtype=i64)
    adv_rec = np.zeros((I, NAD), dtype=i64)
    adv_rep = np.zeros((I, NAD), dtype=i64)
    pot = np.zeros(I, dtype=i64)
    pot_share = np.zeros((I, NP), dtype=i64)
    gain_pain = np.zeros((I, NP), dtype=i64)
    own = np.zeros(I, dtype=i64)
    mgmt_fees = np.zeros(I, dtype=i64)
    paid_cum = np.zeros(I, dtype=i64)
    paid_year = np.zeros(I, dtype=i64)

    # parties: 0 commissioner, 1 co-funder, 2.. providers, then investors
    shared = bool(sc.payers) or sc.pool is not None
    NA = 2 + NP + NI + len(sc.payers) + (1 if sc.pool is not None else 0)
    IV = 2 + NP                                           # first investor account
    bodies = PublicBodies(sc, I, 2 + NP + NI) if shared else None
    rev = np.zeros((I, NA), dtype=i64)
    cst = np.zeros((I, NA), dtype=i64)
    cum = np.zeros((I, NA), dtype=i64)
    mincum = np.zeros((I, NA), dtype=i64)
    npv = np.zeros((I, NA))
    reserves = np.zeros((I, NA), dtype=i64)                # [I, party]: may be drawn
    for d, pv in enumerate(provs):
        reserves[:, 2 + d] = pv.reserves
    if np.ndim(sc.r):                                     # drawn: [I, H]
        disc = (1.0 + sc.r[:, None]) ** (-np.arange(H)[None, :] / 12.0)
    else:
        disc = (1.0 + sc.r) ** (-np.arange(H) / 12.0)
    inv_drawn = np.zeros((I, NI), dtype=i64)
    inv_repaid = np.zeros((I, NI), dtype=i64)
    inv_allowed = np.zeros((I, NI))
    inv_flow = np.zeros((I, NI, H))
    rs = RiskSharing(sc, I)

    def schedule(arr, due, amount):
        """Schedule `amount` [I] for month `due`, or count it beyond the horizon."""
        if due < H:
            arr[:, due] += amount
        else:
            beyond[:] += amount

    def schedule_shared(due, amount, weights):
        """An improvement-like payment `amount` [I], shared between the global
        delivery groups in proportion to `weights` [I, G_all]: floor shares, the
        remainder to the first group with weight."""
        if due >= H:
            beyond[:] += amount
            return
        due_imp[:, due] += amount
        wsum = weights.sum(axis=1)
        safe = np.where(wsum > 0, wsum, 1)
        share = (amount[:, None] * weights) // safe[:, None]
        first = np.argmax(weights > 0, axis=1)
        rem = amount - share.sum(axis=1)
        share[np.arange(I), first] += np.where(wsum > 0, rem, 0)
        for g in range(sc.G_all):
            seg_due["imp"][:, g_seg[g], due] += share[:, g]
        if NP == 1:
            return
        for g in range(sc.G_all):
            d = g_prov[g]
            if d != 0:
                due_sub[:, d, due] += share[:, g]

    def measure_rule(r, t):
        """Judge rule r's measurements that fall in month t (cohorts, then final)."""
        ru = rules[r]
        yp = min(t // 12, Y - 1)
        price = ru.price[yp]
        # interims first (time in state): the months so far, less what the
        # cohort has been paid, never negative
        for j, (fr, to, th, mm) in enumerate(ru.cohorts):
            for i, imm in enumerate(ru.inter_mm[j]):
                if imm != t:
                    continue
                num, den = tS[r][:, j, i], tFm[r][:, j, i]
                if ru.kind == "simulated":
                    a, b = cS[r][:, j, i], cFm[r][:, j, i]
                else:
                    v = ru.ivals[i] if ru.ivals is not None else ru.value
                    C = v * (1.0 + ru.drift) ** (fr // 12)
                    a = base_count(C, I)
                    b = np.full(I, 10 ** 9, dtype=i64)
                defined, met, ri, U = judge(num, den, a, b, th)
                if ru.req is not None:
                    q = rules[ru.req]
                    made = q.inter_mm[j][i] <= t
                    met = met & (r_imet[ru.req][:, j, i] if made else False)
                r_imet[r][:, j, i] = met
                r_iri[r][:, j, i] = ri
                amt = np.where(met, np.maximum(0, round_half_away(U * price)
                                               - r_coh_earned[r][:, j]), 0).astype(i64)
                r_coh_earned[r][:, j] += amt
                r_cearned[r] += amt
                r_earned[r] += amt
                schedule_shared(t + ru.lag, amt, tN[r][:, j, :])
        for j, (fr, to, th, mm) in enumerate(ru.cohorts):
            if mm != t:
                continue
            Nn = tN[r][:, j, :].sum(axis=1)
            if ru.tis:
                num, den = tS[r][:, j, -1], tFm[r][:, j, -1]
            else:
                num, den = measure_counts(ru.measure, Nn, tP[r][:, j], tE[r][:, j])
            if ru.kind == "simulated" and ru.tis:
                a, b = cS[r][:, j, -1], cFm[r][:, j, -1]
            elif ru.kind == "simulated":
                a, b = measure_counts(ru.measure, cN[r][:, j], cP[r][:, j], cE[r][:, j])
            else:
                C = ru.value * (1.0 + ru.drift) ** (fr // 12)
                a = base_count(C, I)
                b = np.full(I, 10 ** 9, dtype=i64)
            defined, met, ri, U = judge(num, den, a, b, th)
            if ru.req is not None:
                q = rules[ru.req]
                made = q.cohorts[j][3] <= t if j < len(q.cohorts) else False
                met = met & (r_met[ru.req][:, j] if made else False)
            r_met[r][:, j] = met
            r_ri[r][:, j] = ri
            amt = np.where(met, np.maximum(0, round_half_away(U * price)
                                           - r_coh_earned[r][:, j]), 0).astype(i64)
            r_coh_earned[r][:, j] += amt
            r_cearned[r] += amt
            r_earned[r] += amt
            schedule_shared(t + ru.lag, amt, tN[r][:, j, :])
        if ru.final_th is not None and ru.final_mm == t:
            Ng = tN[r].sum(axis=1)                         # [I, G_all]
            Nn = Ng.sum(axis=1)
            if ru.tis:
                num, den = tS[r][:, :, -1].sum(axis=1), tFm[r][:, :, -1].sum(axis=1)
            else:
                num, den = measure_counts(ru.measure, Nn, tP[r].sum(axis=1), tE[r].sum(axis=1))
            if ru.kind == "simulated" and ru.tis:
                a, b = cS[r][:, :, -1].sum(axis=1), cFm[r][:, :, -1].sum(axis=1)
            elif ru.kind == "simulated":
                a, b = measure_counts(ru.measure, cN[r].sum(axis=1), cP[r].sum(axis=1),
                                      cE[r].sum(axis=1))
            else:
                a = base_count(ru.value, I)
                b = np.full(I, 10 ** 9, dtype=i64)
            defined, met, ri, U = judge(num, den, a, b, ru.final_th)
            if ru.req is not None:
                q = rules[ru.req]
                made = q.final_th is not None and q.final_mm <= t
                met = met & (r_fmet[ru.req] if made else False)
            r_fmet[r] = met
            r_fri[r] = ri
            amt = np.where(met, np.maximum(0, round_half_away(U * price) - r_cearned[r]),
                           0).astype(i64)
            r_earned[r] += amt
            schedule_shared(t + ru.lag, amt, Ng)

    for t in range(T_end):
        inH = t < H
        y_cal = min(t // 12, Y - 1)
        if inH:
            m_rev = np.zeros((I, NA), dtype=i64)
            m_cst = np.zeros((I, NA), dtype=i64)
            raw_cost = np.zeros((I, NP), dtype=i64)     # pence, before the cost draw
            for ii, inv in enumerate(invs):
                if inv.rate is not None:
                    inv_allowed[:, ii] *= (1.0 + inv.rate) ** (1.0 / 12.0)
        sub_active = live[:, None] & ~failed           # column 0 (prime) = live

        # ---- 2. referrals
        if t < R:
            yr = t // 12
            for si, sg in enumerate(segs):
                ntot = np.zeros(I, dtype=i64)
                if sg.ae:
                    mean_cf = sg.mu * macro[:, yr]
                    pv_t, vals_t = pmfs.get((si, yr, "t"), mean_cf * (1.0 - eff[:, si]), sg.k)
                for d0, share in sg.shares:
                    lam_t = sg.lam_draw if sg.id + ".referrals_per_month" in lam_drawn else sg.lam[t]
                    mean0 = volume * seg_volume[si] * lam_t * share
                    parts = [(d0, mean0)]
                    L = shift_of.get((si, d0))
                    if L is not None:
                        # a minimum performance level below its minimum moves a
                        # share of d0's referrals to L.dest from the month after
                        on = shift_on[:, L.idx]
                        parts = [(d0, np.where(on, mean0 * (1.0 - L.sh), mean0)),
                                 (L.dest, np.where(on, mean0 * L.sh, 0.0))]
                    for d, mean in parts:
                        if sg.process == "fixed" or sc.expected:
                            N = round_half_away(mean).astype(i64)
                        else:
                            N = rng.poisson(mean).astype(i64)
                        N = np.where(live, N, 0)
                        if L is not None and d == L.dest:
                            shifted[:, L.idx] += N
                        ntot += N
                        if d == 0:
                            to_prime = N
                            to_sub = np.zeros(I, dtype=i64)
                            gi = 0
                        else:
                            act = ~failed[:, d]
                            to_sub = np.where(act, N, 0)
                            to_prime = N - to_sub
                            gi = sg.group_prov.index(d)
                            coh[si][:, gi, t] += to_sub
                            wait[si][:, gi, t] += to_sub
                            ref_prov[:, d] += to_sub
                            raw_cost[:, d] += to_sub * provs[d].cpr
                            if sg.blend_fee[yr] and t + sc.lag_att < H:
                                part = min(sg.blend_fee[yr], sg.att_c[yr])
                                due_sub_fee[:, d, t + sc.lag_att] += to_sub * part
                            gross = to_sub * provs[d].fee_per_referral
                            kept = round_half_away(gross * provs[d].mgmt).astype(i64)
                            mgmt_fees += kept
                            m_cst[:, 2] += gross - kept
                            m_rev[:, 2 + d] += gross - kept
                        coh[si][:, 0, t] += to_prime
                        wait[si][:, 0, t] += to_prime
                        ref_prov[:, 0] += to_prime
                        raw_cost[:, 0] += to_prime * provs[0].cpr
                        if sg.tis:
                            # the cohort's months in the state over its follow-up, drawn now (4d)
                            a0 = np.minimum(1.0, sg.a * macro[:, yr])
                            a_t = np.minimum(1.0, a0 * (1.0 - eff[:, si]))
                            points = lambda ru: ru.interims + [sg.f]
                            chain = (lambda _rng, *x: expected_chain_months(*x)) if sc.expected \
                                else chain_months
                            spath = chain(rng, N, sg.pi, a_t, sg.b, sg.f)
                            for r, ru in enumerate(rules):
                                j = ru.cohort_of[t]
                                if si not in ru.segs or j < 0:
                                    continue
                                tN[r][:, j, sg.goff + gi] += to_sub
                                tN[r][:, j, sg.goff] += to_prime
                                if ru.kind == "simulated":
                                    x = ru.pp * N + carry[r]
                                    nc = np.floor(x)
                                    carry[r] = x - nc
                                    nc = nc.astype(i64)
                                    ccum = chain(rng, nc, sg.pi, a0, sg.b, sg.f)
                                for pi_, k in enumerate(points(ru)):
                                    tS[r][:, j, pi_] += spath[:, k - 1]
                                    tFm[r][:, j, pi_] += N * k
                                    if ru.kind == "simulated":
                                        cS[r][:, j, pi_] += ccum[:, k - 1]
                                        cFm[r][:, j, pi_] += nc * k
                        if sg.ae:
                            # the cohort's events over its whole follow-up, drawn now (4b)
                            if sc.expected:
                                P, E = expected_events(N, mean_cf * (1.0 - eff[:, si]), sg.k)
                            else:
                                P, E = draw_events(rng, N, pv_t, vals_t)
                            ae_events += E
                            ae_people += P
                            ae_E[si][:, t] += E
                            for r, ru in enumerate(rules):
                                j = ru.cohort_of[t]
                                if si not in ru.segs or j < 0:
                                    continue
                                tN[r][:, j, sg.goff + gi] += to_sub
                                tN[r][:, j, sg.goff] += to_prime
                                tP[r][:, j] += P
                                tE[r][:, j] += E
                                if ru.kind == "simulated":
                                    x = ru.pp * N + carry[r]
                                    nc = np.floor(x)
                                    carry[r] = x - nc
                                    nc = nc.astype(i64)
                                    pv_c, vals_c = pmfs.get((si, yr, "c"), mean_cf, sg.k)
                                    if sc.expected:
                                        Pc, Ec = expected_events(nc, mean_cf, sg.k)
                                    else:
                                        Pc, Ec = draw_events(rng, nc, pv_c, vals_c)
                                    cN[r][:, j] += nc
                                    cP[r][:, j] += Pc
                                    cE[r][:, j] += Ec
                if sg.ae:
                    ae_cf += ntot * sg.mu * macro[:, yr]
                referrals += ntot
                seg_referrals[:, si] += ntot
                ref_month[:, t] += ntot
                schedule(due_att, t + sc.lag_att, ntot * sg.att_c[yr])
                if t + sc.lag_att < H:
                    seg_due["att"][:, si, t + sc.lag_att] += ntot * sg.att_c[yr]
                if t + sc.lag_att < H:
                    rm_pcap += ntot * sg.att_rm[yr]
            if ffs is not None:
                # fee for service: an instalment each referral month, while live
                fee = ffs.fee[yr]
                inst = np.where(live, round_half_away(fee / 12.0) if np.ndim(fee)
                                else int(round_half_away(fee / 12.0)), 0).astype(i64)
                schedule(due_ffs, t + ffs.lag, inst)
                if t % 12 == 11 or t == R - 1:
                    A = ref_month[:, 12 * yr:t + 1].sum(axis=1).astype(float)
                    B = ffs.base * (t - 12 * yr + 1) / 12.0
                    hi, lo = (1.0 + ffs.band) * B, (1.0 - ffs.band) * B
                    top = np.where(live & (A > hi),
                                   round_half_away(ffs.price * (A - hi)), 0).astype(i64)
                    claw = np.where(live & (A < lo),
                                    round_half_away(ffs.price * (lo - A)), 0).astype(i64)
                    schedule(due_ffs, t + ffs.lag, top)
                    if t + ffs.lag < H:
                        due_claw[:, t + ffs.lag] += claw

        # ---- 3. entries into outcome, stays, programme-month costs
        for si, sg in enumerate(segs):
            m0, m1 = max(0, t - sg.w + 1), min(t, R - 1)
            if m0 > m1:
                continue
            gp = gprov[si]
            if not sg.ae and not sg.tis:
                served = live[:, None] & (~failed[:, gp] | transfer[gp][None, :])
                base = sg.h * macro[:, y_cal]
                hz = base[:, None] * np.where(served, 1.0 + eff[:, si][:, None], 1.0)
                p = -np.expm1(-hz)
                wt = wait[si][:, :, m0:m1 + 1]
                reached = None
                if sc.expected:
                    new = round_half_away(wt * p[:, :, None]).astype(i64)
                    # who reaches the outcome event, rounded per cohort (model.md 2)
                    dd = sg.d[:, None, None] if np.ndim(sg.d) else sg.d
                    reach_c = round_half_away(new * (1.0 - dd) ** (sg.q - 1)).astype(i64)
                else:
                    new = rng.binomial(wt, p[:, :, None])
                wt -= new
                # entrants by price pool [I, G, P]
                pools = sg.pool_of_month[m0:m1 + 1]
                if sg.P == 1:
                    ent = new.sum(axis=2)[:, :, None]
                else:
                    ent = np.stack([new[:, :, pools == k].sum(axis=2) for k in range(sg.P)],
                                   axis=2)
                if sc.expected:
                    if sg.P == 1:
                        reached = reach_c.sum(axis=2)[:, :, None]
                    else:
                        reached = np.stack([reach_c[:, :, pools == k].sum(axis=2)
                                            for k in range(sg.P)], axis=2)
                if ent.any():
                    stays(sc, sg, si, t, ent, rng, real_months, outcomes, due_out, due_sus,
                          due_sub, gp, beyond, rm_pcap, out_g[si], seg_due, reached)
            if inH:
                inprog = coh[si][:, :, m0:m1 + 1].sum(axis=2)           # [I, G]
                for gi, d in enumerate(sg.group_prov):
                    if d == 0:
                        raw_cost[:, 0] += np.where(live, inprog[:, gi], 0) * provs[0].cppm
                    else:
                        act = live & ~failed[:, d]
                        raw_cost[:, d] += np.where(act, inprog[:, gi], 0) * provs[d].cppm
                        if transfer[d]:
                            tr = live & failed[:, d]
                            raw_cost[:, 0] += np.where(tr, inprog[:, gi], 0) * provs[0].cppm

        # ---- 4. improvement measurements (rules in file order); additional outcomes
        for r in range(len(rules)):
            measure_rule(r, t)
        if inH and adds and (t % 12 == 11 or t == H - 1):
            y = t // 12
            for ai, ad in enumerate(adds):
                Og = np.concatenate([out_g[si][:, :, 12 * y:t + 1].sum(axis=2)
                                     if si in ad.segs else
                                     np.zeros((I, len(segs[si].group_prov)), dtype=i64)
                                     for si in range(len(segs))], axis=1)   # [I, G_all]
                O = Og.sum(axis=1)
                base = a_prev[ai].astype(float) if (ad.rolling and y > 0) else ad.baseline[y]
                amt = round_half_away(ad.price[y] * np.maximum(0.0, O - base)).astype(i64)
                a_prev[ai] = O
                a_earned[ai] += amt
                schedule_shared(t + ad.lag, amt, Og)

        if not inH:
            continue

        # ---- 5. overheads, delivery costs, monthly fees, service fee, own costs
        caseload = raw_cost.copy()                         # A_d(t): unit costs only
        for d, pv in enumerate(provs):
            if t < pv.overhead_months:
                raw_cost[:, d] += pv.overhead
        act_all = sub_active                               # live & not failed
        dcost = np.where(act_all, round_half_away(raw_cost * costm[:, None]), 0).astype(i64)
        for d, pv in enumerate(provs):
            f = pv.fixed_share
            if np.all(np.asarray(f) <= 0.0):
                continue
            hist[:, d, t] = caseload[:, d]
            P, N = pv.planned, pv.notice
            if N is None or t < N or P[t - N] <= 0.0:
                K = np.full(I, P[t])
            else:
                K = P[t] * np.minimum(1.0, hist[:, d, t - N] / P[t - N])
            ov = pv.overhead if t < pv.overhead_months else 0
            fixed = round_half_away((f * K + ov) * costm)
            variable = round_half_away((1.0 - f) * caseload[:, d] * costm)
            if np.ndim(f):                                 # drawn: f = 0 is one transfer
                fixed = np.where(f > 0.0, fixed, round_half_away(raw_cost[:, d] * costm))
                variable = np.where(f > 0.0, variable, 0.0)
            dcost[:, d] = np.where(act_all[:, d], fixed + variable, 0).astype(i64)
        m_cst[:, 2:2 + NP] += dcost
        rs.deliv += dcost
        deliv += dcost
        for d in range(1, NP):
            pv = provs[d]
            if np.any(pv.monthly_fee) and t < D:
                gross = np.where(act_all[:, d], pv.monthly_fee, 0).astype(i64)
                kept = round_half_away(gross * pv.mgmt).astype(i64)
                mgmt_fees += kept
                m_cst[:, 2] += gross - kept
                m_rev[:, 2 + d] += gross - kept
        if np.any(sc.sf) and t < sc.sf_months:
            schedule(due_sf, t + sc.lag_sf, np.where(live, sc.sf, 0).astype(i64))
        if np.any(sc.own_costs) and t < D:
            oc = np.where(live, sc.own_costs, 0).astype(i64)
            own += oc
            m_cst[:, 0] += oc

        if shared and sc.pool is not None:
            amount, parts = bodies.contribution(t, live)
            m_rev[:, bodies.pot_acc] += amount
            for a, x in parts:
                m_cst[:, a] += x

        # ---- 6. payments falling due
        dsf, dff, dat = due_sf[:, t], due_ffs[:, t], due_att[:, t]
        dou, dsu, dim = due_out[:, t], due_sus[:, t], due_imp[:, t]
        alldue = dsf + dff + dat + dou + dsu + dim
        cancelled += np.where(live, 0, alldue)
        if t % 12 == 0:
            paid_year[:] = 0
        big = np.iinfo(i64).max // 4
        allow = np.full(I, big, dtype=i64)
        if sc.cap_year is not None:
            allow = np.minimum(allow, sc.cap_year - paid_year)
        if sc.cap_total is not None:
            allow = np.minimum(allow, sc.cap_total - paid_cum)
        allow = np.where(live, np.maximum(allow, 0), 0)
        got = []
        for due in (dsf, dff, dat, dou, dsu, dim):
            g = np.where(live, np.minimum(due, allow), 0)
            allow -= g
            rm_ccap += np.where(live, due - g, 0)
            got.append(g)
        gsf, gff, gat, gou, gsu, gim = got
        paid_sf += gsf; paid_ffs += gff; paid_att += gat
        paid_out += gou; paid_sus += gsu; paid_imp += gim
        # each rule's payment shared between segments pro rata to what fell
        # due (floor, the first segment with something due takes the rest)
        for key, g, d in (("att", gat, dat), ("out", gou, dou), ("sus", gsu, dsu), ("imp", gim, dim)):
            owed = seg_due[key][:, :, t]
            share = np.where((g == d)[:, None], owed,
                             np.floor(owed * (g / np.maximum(d, 1))[:, None]).astype(i64))
            first = np.argmax(owed > 0, axis=1)
            rem = g - share.sum(axis=1)
            share[np.arange(I), first] += np.where(d > 0, rem, 0)
            seg_paid[key] += share
        tot = gsf + gff + gat + gou + gsu + gim
        paid_cum += tot
        paid_year += tot
        os_paid = gou + gsu + gim
        os_due = dou + dsu + dim
        if sc.co_share is not None:
            cof = round_half_away(sc.co_share * os_paid).astype(i64)
        else:
            cof = np.zeros(I, dtype=i64)
        co_funded += cof
        # clawback: the prime pays back to the commissioner, if the contract is live
        claw = np.where(live, due_claw[:, t], 0)
        if shared:
            # the refund first (back to the pot or the bodies), then each
            # rule's payment from the pot or by the bodies' shares
            for a, x in bodies.refund("fee_for_service", claw):
                m_cst[:, a] -= x
            if t % 12 == 0:
                bodies.new_year()
            for rule, g in (("service_fee", gsf), ("fee_for_service", gff), ("attachment", gat),
                            ("outcome", gou), ("sustainment", gsu), ("improvement", gim)):
                for a, x in bodies.pay(rule, g, t):
                    m_cst[:, a] += x
        else:
            m_cst[:, 1] += cof
            m_cst[:, 0] += tot - cof
            m_cst[:, 0] -= claw
        m_rev[:, 2] += tot
        paid_ffs -= claw
        # a refund: it lowers the prime's revenue and the commissioner's cost
        m_rev[:, 2] -= claw
        clawed_back += claw
        # pass-through, pro rata to what was actually paid
        pt_net = np.zeros((I, NP), dtype=i64)
        pt_gross = np.zeros(I, dtype=i64)
        for d in range(1, NP):
            pv = provs[d]
            if np.all(np.asarray(pv.pass_through) <= 0):
                continue
            dg = due_sub[:, d, t]
            safe = np.where(os_due > 0, os_due, 1)
            gpaid = np.where(os_due > 0, (dg * os_paid) // safe, 0)
            of_results = round_half_away(gpaid * pv.pass_through).astype(i64)
            fg = due_sub_fee[:, d, t]
            safe_a = np.where(dat > 0, dat, 1)
            fpaid = np.where(dat > 0, (fg * gat) // safe_a, 0)
            of_fee = round_half_away(fpaid * pv.pass_through).astype(i64)
            of_results = np.where(act_all[:, d], of_results, 0)
            gross = np.where(act_all[:, d], of_results + of_fee, 0)
            kept = round_half_away(gross * pv.mgmt).astype(i64)
            mgmt_fees += kept
            m_cst[:, 2] += gross - kept
            m_rev[:, 2 + d] += gross - kept
            pt_net[:, d] = gross - kept
            pt_gross += of_results          # the results part the prime passed down
        rs.res[:, 0] += os_paid
        rs.res[:, 1:] += pt_net[:, 1:]
        receipts = pt_net.copy()
        receipts[:, 0] = os_paid
        on_receipts(sc, act_all, os_paid - pt_gross, receipts, m_rev, m_cst,
                    pot, pot_share, adv_out, adv_rec)

        # ---- investors: repayment from the month's outcome-related receipts (8)
        if NI:
            for ii, inv in enumerate(invs):
                d = inv.d
                act = act_all[:, d] & (inv_drawn[:, ii] > 0)
                proj = reserves[:, 2 + d] + cum[:, 2 + d] + m_rev[:, 2 + d] - m_cst[:, 2 + d]
                avail = np.minimum(receipts[:, d], np.maximum(0, proj))
                fl = np.floor(inv_allowed[:, ii]).astype(i64)
                repay = np.minimum(avail, fl)
                excess = np.where(repay == fl,
                                  round_half_away(inv.xs * (avail - repay)), 0).astype(i64)
                repay = np.where(act, repay, 0)
                x = np.where(act, repay + excess, 0)
                m_cst[:, 2 + d] += x
                m_rev[:, IV + ii] += x
                inv_allowed[:, ii] -= repay
                inv_repaid[:, ii] += x
                inv_flow[:, ii, t] += x
                receipts[:, d] -= x
        # ---- risk sharing: floors, then corridors (docs/model.md 11)
        if live.any():
            fin = np.zeros((I, NP), dtype=i64)          # investors' capital less repayments
            for ii, inv in enumerate(invs):
                fin[:, inv.d] += inv_drawn[:, ii] - inv_repaid[:, ii]
            rs.settle(sc, t, live, failed, seg_referrals, seg_paid,
                      rev + m_rev, cst + m_cst, fin, m_rev, m_cst, bodies)
        # ---- volume guarantees, the alliance's budget, advances (8a)
        settle_instruments(sc, t, live, failed, ref_prov, ref_before, deliv, deliv_before,
                           m_rev, m_cst, g_missing, g_paid, paid_vg, gain_pain,
                           adv_out, adv_paid, adv_rep, bodies)
        if NI:
            # ---- 7. investors fund their provider's shortfall (before the check)
            for ii, inv in enumerate(invs):
                d = inv.d
                act = act_all[:, d]
                proj = reserves[:, 2 + d] + cum[:, 2 + d] + m_rev[:, 2 + d] - m_cst[:, 2 + d]
                draw = np.minimum(-proj, inv.commit - inv_drawn[:, ii])
                draw = np.where(act, np.maximum(draw, 0), 0).astype(i64)
                m_rev[:, 2 + d] += draw
                m_cst[:, IV + ii] += draw
                inv_drawn[:, ii] += draw
                inv_allowed[:, ii] += draw * (inv.mult if inv.mult is not None else 1.0)
                inv_flow[:, ii, t] -= draw

        # ---- end of month: flows; then failures
        rev += m_rev
        cst += m_cst
        flow = m_rev - m_cst
        cum += flow
        for d, pv in enumerate(provs):
            cash = pv.reserves + cum[:, 2 + d]
            newf = live & ~failed[:, d] & (cash < -pv.credit_line)
            if newf.any():
                failed[:, d] |= newf
                fail_month[newf, d] = t
                rc = np.where(newf, pv.reprocurement, 0).astype(i64)
                if np.any(pv.reprocurement):
                    own += rc
                    cst[:, 0] += rc
                    cum[:, 0] -= rc
                    flow[:, 0] -= rc
        live &= ~failed[:, 0]
        tm = sc.term
        if tm is not None:
            # after failures: the trigger starts the notice the first month
            # the watched net is below `below`; the contract ends at the end
            # of the break month or the notice's last month, whichever first
            for li, L in enumerate(tm.levels):
                if L.to != t + 1:
                    continue
                O = np.zeros(I, dtype=i64)
                N = np.zeros(I, dtype=i64)
                for si in L.segs:
                    cols = [g for g, p in enumerate(gprov[si]) if L.prov is None or p == L.prov]
                    if not cols:
                        continue
                    O += out_g[si][:, cols, L.frm:L.to].sum(axis=(1, 2))
                    N += coh[si][:, cols, min(L.frm, R):min(L.to, R)].sum(axis=(1, 2))
                ok = live & (N > 0)
                below = ok & (O.astype(object) * 10**6 < L.ppm * N.astype(object)).astype(bool)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lev_value[:, li] = np.where(ok, O / np.where(N > 0, N, 1), np.nan)
                lev_below[:, li] = below
                if L.shift:
                    shift_on[:, li] |= below
                    continue
                ends = t + tm.notice
                notice_end = np.where(below & ((notice_end < 0) | (notice_end > ends)), ends, notice_end)
            if tm.account is not None:
                hit = live & (notice_end < 0) & (cum[:, tm.account] < tm.below)
                notice_end[hit] = t + tm.notice
            end = live & ((tm.break_month == t) | (notice_end == t))
            pay = np.where(end, tm.payment, 0).astype(i64)
            sources = bodies.pay("termination", pay, t) if shared else [(0, pay)]
            for a, x in sources:
                cst[:, a] += x
                cum[:, a] -= x
                flow[:, a] -= x
            rev[:, 2] += pay
            cum[:, 2] += pay
            flow[:, 2] += pay
            paid_term += pay
            term_month[end] = t
            for j, A in enumerate(sc.advances):
                # what is left to repay is repaid in the month the contract ends
                x = np.where(end & ~failed[:, A.d] & A.repay, adv_out[:, j], 0)
                rev[:, 2 + A.d] -= x
                cst[:, A.payer] -= x
                cum[:, 2 + A.d] -= x
                cum[:, A.payer] += x
                flow[:, 2 + A.d] -= x
                flow[:, A.payer] += x
                adv_rep[:, j] += x
                adv_out[:, j] -= x
            live &= ~end
        if shared and sc.pool is not None and t == H - 1:
            left, back = bodies.end()
            for a, x in back:
                cst[:, bodies.pot_acc] += x
                cum[:, bodies.pot_acc] -= x
                flow[:, bodies.pot_acc] -= x
                rev[:, a] += x
                cum[:, a] += x
                flow[:, a] += x
        np.minimum(mincum, cum, out=mincum)
        npv += flow * (disc[:, t, None] if disc.ndim == 2 else disc[t])

    # ---- counterfactual (closed form) and savings
    cf_out = np.zeros(I)
    cf_pay = np.zeros(I)
    cf_months_tot = np.zeros(I)
    savings = np.zeros(I)
    savings_npv = np.zeros(I)
    seg_sav = [np.zeros(I) for _ in segs]
    seg_sav_npv = [np.zeros(I) for _ in segs]
    tgrid = np.arange(H)
    mac_t = macro[:, np.minimum(tgrid // 12, Y - 1)]          # [I, H]
    for si, sg in enumerate(segs):
        Ntot = coh[si].sum(axis=1).astype(float)              # [I, R] referrals per cohort
        if sg.tis:
            continue                                          # no counterfactual, no savings (4d)
        if sg.ae:
            # savings per event avoided, booked in each cohort's last follow-up month
            for m in range(R):
                e = m + sg.f - 1
                if e >= H:
                    continue
                sv = sg.A * (Ntot[:, m] * sg.mu * macro[:, m // 12] - ae_E[si][:, m])
                savings += sv
                savings_npv += sv * (disc[:, e] if disc.ndim == 2 else disc[e])
                seg_sav[si] += sv
                seg_sav_npv[si] += sv * (disc[:, e] if disc.ndim == 2 else disc[e])
            continue
        hz = (sg.h[:, None] if np.ndim(sg.h) else sg.h) * mac_t     # [I, H]
        p0 = -np.expm1(-hz)
        C = np.concatenate([np.zeros((I, 1)), np.cumsum(-hz, axis=1)], axis=1)  # log prod (1-p0)
        E = np.zeros((I, sg.P, H))
        for m in range(R):
            e1 = min(m + sg.w, H)
            if e1 <= m:
                continue
            ratio = np.exp(C[:, m:e1] - C[:, m:m + 1])        # prod_{u=m}^{e-1}(1-p0)
            E[:, sg.pool_of_month[m], m:e1] += Ntot[:, m:m + 1] * p0[:, m:e1] * ratio
        # surv[:, a-1] = (1-d)^(a-1), per iteration (the dropout may be drawn)
        surv = (1.0 - np.broadcast_to(np.asarray(sg.d, dtype=float), (I,)))[:, None] ** np.arange(sg.L + 1)
        # outcomes at age q, month e+q-1 < H
        Etot = E.sum(axis=1)
        ok = tgrid + sg.q - 1 < H
        cf_out += (Etot[:, ok] * surv[:, sg.q - 1:sg.q]).sum(axis=1)
        # payments: weights per pool and entry month
        for pidx in range(sg.P):
            W = np.zeros((I, H))
            for e in range(H):
                mo = e + sg.q - 1
                if mo + sc.lag_out < H:
                    price = sg.price[..., pidx, sg.q] if sc.price_year == "referral" else sc.event_price(sg, "out", mo)
                    W[:, e] += surv[:, sg.q - 1] * price
                for k in range(1, sg.M + 1):
                    ms = e + sg.q + k - 1
                    if ms + sc.lag_sus < H:
                        price = sg.price[..., pidx, sg.q + k] if sc.price_year == "referral" else sc.event_price(sg, "sus", ms)
                        W[:, e] += surv[:, sg.q + k - 1] * price
            cf_pay += (E[:, pidx, :] * W).sum(axis=1)
        # counterfactual months by calendar month, ages 1..S
        cfm = np.zeros((I, H))
        for a in range(1, sg.S + 1):
            if a - 1 < H:
                cfm[:, a - 1:] += Etot[:, :H - a + 1] * surv[:, a - 1:a]
        cf_months_tot += cfm.sum(axis=1)
        diff = real_months[:, si, :] - cfm
        savings += sg.V * diff.sum(axis=1)
        savings_npv += sg.V * ((diff * disc).sum(axis=1) if disc.ndim == 2 else diff @ disc)
        seg_sav[si] += sg.V * diff.sum(axis=1)
        seg_sav_npv[si] += sg.V * ((diff * disc).sum(axis=1) if disc.ndim == 2 else diff @ disc)

    # ---- figures (currency units)
    out = {}
    names = ["commissioner"] + (["co_funder"] if sc.co_share is not None else []) + \
            [p.id for p in provs] + [iv.id for iv in invs] + [p.id for p in sc.payers] + \
            (["pooled_budget"] if sc.pool is not None else [])
    idx = [0] + ([1] if sc.co_share is not None else []) + [2 + d for d in range(NP)] + \
          [IV + ii for ii in range(NI)] + list(range(IV + NI, NA))
    for nm, a in zip(names, idx):
        res = reserves[:, a]
        out[f"{nm}.revenue"] = rev[:, a] / 100.0
        out[f"{nm}.cost"] = cst[:, a] / 100.0
        net = rev[:, a] - cst[:, a]
        out[f"{nm}.net"] = net / 100.0
        out[f"{nm}.npv"] = npv[:, a] / 100.0
        out[f"{nm}.lowest_cash"] = (res + mincum[:, a]) / 100.0
        out[f"{nm}.peak_funding_need"] = -mincum[:, a] / 100.0
        out[f"{nm}.loss"] = (net < 0).astype(float)
        if 2 <= a < IV:
            out[f"{nm}.failed"] = failed[:, a - 2].astype(float)
            out[f"{nm}.failure_month"] = fail_month[:, a - 2]
        if IV <= a < IV + NI:
            ii = a - IV
            dr = inv_drawn[:, ii].astype(float)
            out[f"{nm}.capital_drawn"] = dr / 100.0
            out[f"{nm}.repaid"] = inv_repaid[:, ii] / 100.0
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{nm}.money_multiple"] = np.where(dr > 0, inv_repaid[:, ii] / np.where(dr > 0, dr, 1), np.nan)
            out[f"{nm}.irr"] = irr_annual(inv_flow[:, ii, :])
    c = "commissioner."
    paid_total = (paid_sf + paid_ffs + paid_att + paid_out + paid_sus + paid_imp + paid_term
                  + rs.paid_corridor + rs.paid_floor + paid_vg)
    adv_wo = adv_paid - adv_rec - adv_rep
    comm_adv = [j for j, A in enumerate(sc.advances) if A.payer == 0]
    adv_wo_comm = adv_wo[:, comm_adv].sum(axis=1)
    out[c + "paid.attachment"] = paid_att / 100.0
    out[c + "paid.service_fee"] = paid_sf / 100.0
    out[c + "paid.outcome"] = paid_out / 100.0
    out[c + "paid.sustainment"] = paid_sus / 100.0
    out[c + "paid.improvement"] = paid_imp / 100.0
    out[c + "paid.fee_for_service"] = paid_ffs / 100.0
    out[c + "paid.total"] = paid_total / 100.0
    if sc.term is not None:
        out[c + "paid.termination"] = paid_term / 100.0
        out["contract.terminated"] = (~np.isnan(term_month)).astype(float)
        out["contract.termination_month"] = term_month
        for li, L in enumerate(sc.term.levels):
            out[f"contract.{L.label}.level"] = lev_value[:, li]
            out[f"contract.{L.label}.below_minimum"] = lev_below[:, li].astype(float)
            if L.shift:
                out[f"contract.{L.label}.referrals_shifted"] = shifted[:, li].astype(float)
    out[c + "co_funded"] = co_funded / 100.0
    out[c + "clawed_back"] = clawed_back / 100.0
    out[c + "removed_by_participant_cap"] = rm_pcap / 100.0
    out[c + "removed_by_contract_cap"] = rm_ccap / 100.0
    out[c + "beyond_horizon"] = beyond / 100.0
    out[c + "cancelled"] = cancelled / 100.0
    out[c + "own_costs"] = own / 100.0
    out[c + "referrals"] = referrals.astype(float)
    out[c + "outcomes"] = outcomes.astype(float)
    out[c + "counterfactual_outcomes"] = cf_out
    out[c + "attributable_outcomes"] = outcomes - cf_out
    out[c + "deadweight"] = np.minimum(cf_pay, paid_out + paid_sus) / 100.0
    om = real_months.sum(axis=(1, 2))
    out[c + "outcome_months"] = om.astype(float)
    out[c + "attributable_outcome_months"] = om - cf_months_tot
    out[c + "savings"] = savings / 100.0
    out[c + "net_value"] = (savings - paid_total - own - adv_wo_comm) / 100.0
    out[c + "net_value_npv"] = (savings_npv + npv[:, 0] + npv[:, 1] + npv[:, IV + NI:].sum(axis=1)) / 100.0
    if shared:
        payer_figures(sc, bodies, out, rev, cst, npv, own, savings, savings_npv, seg_sav, seg_sav_npv)
    out[c + "management_fees"] = mgmt_fees / 100.0
    out[c + "adverse_events"] = ae_events.astype(float)
    out[c + "people_with_event"] = ae_people.astype(float)
    out[c + "counterfactual_adverse_events"] = ae_cf
    out[c + "adverse_events_avoided"] = ae_cf - ae_events
    for r, ru in enumerate(rules):
        pre = f"improvement.{ru.label}."
        for j in range(nJ[r]):
            out[pre + f"cohort{j + 1}.relative_improvement"] = r_ri[r][:, j]
            out[pre + f"cohort{j + 1}.met"] = r_met[r][:, j].astype(float)
        out[pre + "final.relative_improvement"] = r_fri[r]
        out[pre + "final.met"] = r_fmet[r].astype(float)
        for j in range(nJ[r]):
            for i, k in enumerate(ru.interims):
                out[pre + f"cohort{j + 1}.month{k}.relative_improvement"] = r_iri[r][:, j, i]
                out[pre + f"cohort{j + 1}.month{k}.met"] = r_imet[r][:, j, i].astype(float)
        out[pre + "earned"] = r_earned[r] / 100.0
    for ai, ad in enumerate(adds):
        out[f"additional.{ad.label}.earned"] = a_earned[ai] / 100.0
    instrument_figures(sc, out, paid_vg, g_missing, g_paid, adv_paid, adv_rec, adv_rep, adv_wo,
                       comm_adv, pot, pot_share, gain_pain)
    for si, sg in enumerate(segs):
        pre = f"segment.{sg.id}."
        out[pre + "referrals"] = seg_referrals[:, si].astype(float)
        out[pre + "outcomes"] = out_g[si].sum(axis=(1, 2)).astype(float)
        names = {"att": "attachment", "out": "outcome", "sus": "sustainment", "imp": "improvement"}
        out[pre + "paid.total"] = (sum(seg_paid[k][:, si] for k in names) + rs.seg_floor[:, si]) / 100.0
        for k, name in names.items():
            out[pre + "paid." + name] = seg_paid[k][:, si] / 100.0
    rs.figures(sc, out)
    out["draw.volume"] = volume
    out["draw.cost"] = costm
    for y in range(Y):
        out[f"draw.macro.year{y + 1}"] = macro[:, y]
    for si, sg in enumerate(segs):
        out[f"draw.effect.{sg.id}"] = eff[:, si]
    # Uncertain plain keys the reference models.
    for si, sg in enumerate(segs):
        if isinstance(sg.volume, dict):
            out[f"draw.segments.{sg.id}.volume"] = seg_volume[si]
        if isinstance(getattr(sg, "d_spec", None), dict):
            out[f"draw.segments.{sg.id}.sustained.dropout"] = sg.d
    for p, x in UK.items():
        out[f"draw.{p}"] = x
    return out


def on_receipts(sc, act_all, potm, receipts, m_rev, m_cst, pot, pot_share, adv_out, adv_rec):
    """The alliance's pot split among its members, then advances recovered
    from their recipients' outcome-related receipts (docs/model.md 8a)."""
    NP = len(sc.providers)
    al = sc.alliance
    if al is not None:
        mem = act_all & (al.s > 0)[None, :]
        S = (mem * al.s[None, :]).sum(axis=1)
        handed = np.zeros(len(potm), dtype=np.int64)
        for d in range(1, NP):
            if al.s[d] <= 0:
                continue
            sh = np.where(mem[:, d], round_half_away(potm * al.s[d] / np.where(S > 0, S, 1.0)),
                          0).astype(np.int64)
            m_cst[:, 2] += sh
            m_rev[:, 2 + d] += sh
            receipts[:, d] += sh
            pot_share[:, d] += sh
            handed += sh
        live = act_all[:, 0]
        receipts[:, 0] -= handed
        pot_share[:, 0] += np.where(live, potm - handed, 0)
        pot += np.where(live, potm, 0)
    for j, A in enumerate(sc.advances):
        d = A.d
        left = adv_out[:, j]
        w = np.minimum(round_half_away(np.maximum(receipts[:, d], 0) * A.share).astype(np.int64), left)
        w = np.where(act_all[:, d] & (left > 0), w, 0)
        # a refund: it lowers the recipient's revenue and the payer's cost
        m_rev[:, 2 + d] -= w
        m_cst[:, A.payer] -= w
        receipts[:, d] -= w
        adv_out[:, j] -= w
        adv_rec[:, j] += w


def settle_instruments(sc, t, live, failed, ref_prov, ref_before, deliv, deliv_before,
                       m_rev, m_cst, g_missing, g_paid, paid_vg, gain_pain,
                       adv_out, adv_paid, adv_rep, bodies):
    """After the payment step, while the contract is live: guarantees at the
    end of a referral year, the alliance's budget at a year's end, advances
    paid in their month and repaid in the horizon's last month (8a). The
    commissioner's guarantee is shared by the public bodies (`bodies`, None
    when it pays alone) like a tariff rule (12)."""
    H, R, NP = sc.H, sc.R, len(sc.providers)
    first = t - t % 12
    if t < R and (t % 12 == 11 or t + 1 == R):
        for j, G in enumerate(sc.guarantees):
            if G.payer == 0:
                A = (ref_prov - ref_before).sum(axis=1)
            else:
                A = ref_prov[:, G.d] - ref_before[:, G.d]
            forecast = sum(G.F[first:t + 1].tolist())
            miss = G.th * forecast - A
            hit = live & ~failed[:, G.d] & (miss > 1e-9)
            if G.per is not None:
                amt = round_half_away(miss * G.per)
            else:
                amt = np.full(len(A), round_half_away(G.top * (t + 1 - first) / 12.0))
            amt = np.where(hit, amt, 0).astype(np.int64)
            if G.payer == 0 and bodies is not None:
                for a, x in bodies.pay("volume_guarantee", amt, t):
                    m_cst[:, a] += x
            else:
                m_cst[:, G.payer] += amt
            m_rev[:, 2 + G.d] += amt
            g_missing[:, j] += np.where(hit, miss, 0.0)
            g_paid[:, j] += amt
            if G.payer == 0:
                paid_vg += amt
    al = sc.alliance
    if al is not None and (t % 12 == 11 or t == H - 1):
        B = al.budget[t // 12] * (t + 1 - first) / 12.0
        mem = live[:, None] & ~failed & (al.s > 0)[None, :]
        S = np.zeros(len(live))
        Gs = np.zeros(len(live))
        pooled = np.zeros(len(live), dtype=np.int64)
        c = deliv - deliv_before
        for d in range(NP):
            S += np.where(mem[:, d], al.s[d], 0.0)
            Gs += np.where(mem[:, d], al.g[d], 0.0)
            pooled += np.where(mem[:, d], c[:, d], 0)
        by_pot = Gs <= 0.0
        Gs = np.where(by_pot, S, Gs)
        Gs = np.where(Gs > 0, Gs, 1.0)          # no member left: nothing settles
        gain = B - pooled
        settled = np.zeros(len(live), dtype=np.int64)
        for d in range(1, NP):
            if al.s[d] <= 0:
                continue
            gs = np.where(by_pot, al.s[d], al.g[d])
            allotted = B * al.s[d] / np.where(S > 0, S, 1.0)
            owed = round_half_away(gs / Gs * gain - (allotted - c[:, d]))
            owed = np.where(mem[:, d], owed, 0).astype(np.int64)
            pos, neg = np.maximum(owed, 0), np.maximum(-owed, 0)
            m_cst[:, 2] += pos
            m_rev[:, 2 + d] += pos
            m_cst[:, 2 + d] += neg
            m_rev[:, 2] += neg
            gain_pain[:, d] += owed
            settled += owed
        gain_pain[:, 0] -= settled
    if t % 12 == 11 or t == H - 1:
        ref_before[:] = ref_prov
        deliv_before[:] = deliv
    for j, A in enumerate(sc.advances):
        ok = live & ~failed[:, A.d]
        if A.month == t:
            amt = np.where(ok, A.amount, 0).astype(np.int64)
            m_cst[:, A.payer] += amt
            m_rev[:, 2 + A.d] += amt
            adv_out[:, j] = np.where(ok, amt, adv_out[:, j])
            adv_paid[:, j] += amt
        if t == H - 1 and A.repay:
            x = np.where(ok, adv_out[:, j], 0)
            m_rev[:, 2 + A.d] -= x
            m_cst[:, A.payer] -= x
            adv_rep[:, j] += x
            adv_out[:, j] -= x


def instrument_figures(sc, out, paid_vg, g_missing, g_paid, adv_paid, adv_rec, adv_rep, adv_wo,
                       comm_adv, pot, pot_share, gain_pain):
    c = "commissioner."
    if any(G.payer == 0 for G in sc.guarantees):
        out[c + "paid.volume_guarantee"] = paid_vg / 100.0
    if comm_adv:
        out[c + "advanced"] = adv_paid[:, comm_adv].sum(axis=1) / 100.0
        out[c + "advance_recovered"] = adv_rec[:, comm_adv].sum(axis=1) / 100.0
        out[c + "advance_repaid"] = adv_rep[:, comm_adv].sum(axis=1) / 100.0
        out[c + "advance_written_off"] = adv_wo[:, comm_adv].sum(axis=1) / 100.0
    for j, G in enumerate(sc.guarantees):
        out[f"contract.{G.label}.missing_referrals"] = g_missing[:, j]
        out[f"contract.{G.label}.guarantee_paid"] = g_paid[:, j] / 100.0
    for j, A in enumerate(sc.advances):
        out[f"contract.{A.label}.advanced"] = adv_paid[:, j] / 100.0
        out[f"contract.{A.label}.recovered"] = adv_rec[:, j] / 100.0
        out[f"contract.{A.label}.repaid"] = adv_rep[:, j] / 100.0
        out[f"contract.{A.label}.written_off"] = adv_wo[:, j] / 100.0
    if sc.alliance is not None:
        out["alliance.pot"] = pot / 100.0
        for d, pv in enumerate(sc.providers):
            if sc.alliance.s[d] > 0:
                out[f"alliance.{pv.id}.pot_share"] = pot_share[:, d] / 100.0
                out[f"alliance.{pv.id}.gain_pain"] = gain_pain[:, d] / 100.0


def tariff_per_iteration(sc, sg, td, I):
    """A segment's tariff with some prices drawn (td: key -> discounted pence
    [I], the same every year): capped prices per iteration, one price pool
    per referral year (price[I, pool, age], prm likewise)."""
    Y = sc.Y
    bc = lambda v: np.broadcast_to(np.asarray(v, dtype=np.int64), (I,)).copy()
    for key, attr in (("attachment", "att"), ("outcome", "out"), ("sustainment", "sus")):
        if key in td:
            setattr(sg, attr, [td[key]] * Y)
    if "cap" in td:
        sg.cap = td["cap"]
    sg.att_c, sg.att_rm = [], []
    price = np.zeros((I, Y, sg.L + 1), dtype=np.int64)
    prm = np.zeros((I, Y, sg.L + 1), dtype=np.int64)
    for y in range(Y):
        att, o_, s0 = bc(sg.att[y]), bc(sg.out[y]), bc(sg.sus[y])
        if sg.cap is None:
            a, o, s_ = att, o_, [s0] * sg.M
        else:
            left = bc(sg.cap)
            a = np.minimum(att, left); left = left - a
            o = np.minimum(o_, left); left = left - o
            s_ = []
            for _ in range(sg.M):
                v = np.minimum(s0, left); left = left - v
                s_.append(v)
        sg.att_c.append(a)
        sg.att_rm.append(att - a)
        if not sg.ae and not sg.tis:
            price[:, y, sg.q] = o
            prm[:, y, sg.q] = o_ - o
            for k in range(1, sg.M + 1):
                price[:, y, sg.q + k] = s_[k - 1]
                prm[:, y, sg.q + k] = s0 - s_[k - 1]
    if sc.price_year == "referral":
        sg.price, sg.prm = price, prm
        sg.pool_of_year = list(range(Y))
        sg.P = Y
    else:
        sg.pool_of_year = [0] * Y
        sg.P = 1
    sg.pool_of_month = np.array([sg.pool_of_year[m // 12] for m in range(sc.R)])


def stays(sc, sg, si, t, ent, rng, real_months, outcomes, due_out, due_sus, due_sub, gp,
          beyond, rm_pcap, out_g, seg_due, reached=None):
    """Sample the stays in outcome of month t's entrants ent[I, G, P] and schedule
    everything they cause: outcome events, sustainment payments, savings months."""
    H = sc.H
    alive = ent
    keep = 1.0 - sg.d
    if np.ndim(keep):
        keep = keep[:, None, None]
    for a in range(1, sg.L + 1):
        if a > 1 and sc.expected:
            # counts = "expected" (model.md 2): `reached` of the entrants stay q
            # months; the others leave before, the rounded conditional share of
            # those left at each age (all at q - 1); from age q, rounded leavers
            drop = sg.d[:, None, None] if np.ndim(sg.d) else sg.d
            if a == 2:
                short, held = ent - reached, reached
            l = a - 1
            if l < sg.q:
                if l + 1 == sg.q:
                    short = np.zeros_like(short)
                else:
                    den = 1.0 - (1.0 - drop) ** (sg.q - l)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        pl = np.clip(np.where(den > 0, drop / np.where(den > 0, den, 1.0), 0.0),
                                     0.0, 1.0)
                    short = short - round_half_away(short * pl).astype(np.int64)
            else:
                held = held - round_half_away(held * drop).astype(np.int64)
            alive = short + held
        elif a > 1:
            alive = rng.binomial(alive, keep)
        month = t + a - 1
        if a <= sg.S and month < H:
            real_months[:, si, month] += alive.sum(axis=(1, 2))
        if a < sg.q or a > sg.q + sg.M:
            continue
        if a == sg.q:
            if month < H:
                outcomes += alive.sum(axis=(1, 2))
                out_g[:, :, month] += alive.sum(axis=2)
            due = month + sc.lag_out
            arr = due_out
            rule = "out"
        else:
            due = month + sc.lag_sus
            arr = due_sus
            rule = "sus"
        if sc.price_year == "referral" and sg.price.ndim == 3:
            # prices drawn per iteration: price[I, pool, age]
            amt = np.einsum("igp,ip->ig", alive, sg.price[:, :, a])
            if due < H and sg.prm[:, :, a].any():
                rm_pcap += np.einsum("igp,ip->i", alive, sg.prm[:, :, a])
        elif sc.price_year == "referral":
            amt = alive @ sg.price[:, a]                     # [I, G]
            # what the participant cap removes is counted for payments due before H
            if due < H and sg.prm[:, a].any():
                rm_pcap += (alive @ sg.prm[:, a]).sum(axis=1)
        else:
            ep = sc.event_price(sg, rule, month)
            amt = alive[:, :, 0] * (ep[:, None] if np.ndim(ep) else ep)
        tot = amt.sum(axis=1)
        if due < H:
            arr[:, due] += tot
            seg_due[rule][:, si, due] += tot
            for gi, d in enumerate(gp):
                if d != 0:
                    due_sub[:, d, due] += amt[:, gi]
        else:
            beyond += tot


def parse_risk_sharing(sc, raw, prov_index):
    """`[[corridors]]` and `segments.<id>.floor_per_referral` (docs/model.md 11)."""
    sc.floors = [pence(st["floor_per_referral"]) if "floor_per_referral" in st else None
                 for st in raw["segments"].values()]
    sc.corridors = []
    for i, cr in enumerate(raw.get("corridors", [])):
        C = Segment()
        C.label = cr.get("label", f"corridor{i + 1}")
        payer, prov = cr["between"]
        C.payer = 0 if payer == "commissioner" else 2     # account
        C.d = prov_index[prov]
        C.measure = cr["measure"]
        C.target = pence(cr["target"])
        C.settle = cr["settle"]
        C.pain = ([float(e) for e in cr["bands"]], [float(s) for s in cr["share"]])
        if "gain_bands" in cr:
            C.gain = ([float(e) for e in cr["gain_bands"]], [float(s) for s in cr["gain_share"]])
        else:
            C.gain = C.pain
        sc.corridors.append(C)


def banded(x, target, bands):
    """The payer's part of deviations x [I] >= 0 from `target` pence: each
    band's share of the deviation inside it, rounded to the penny; band
    edges are their fractions of the target rounded to the penny."""
    edges, shares = bands
    lo = 0
    total = np.zeros_like(x)
    for i, s in enumerate(shares):
        hi = int(round_half_away(edges[i] * target)) if i < len(edges) else None
        top = x if hi is None else np.minimum(x, hi)
        inside = np.maximum(0, top - lo)
        total += round_half_away(inside * s).astype(np.int64)
        if hi is not None:
            lo = max(lo, hi)
    return total


class RiskSharing:
    """Corridors and payment floors: what they measure and settle."""

    def __init__(self, sc, I):
        NP, NC, S = len(sc.providers), len(sc.corridors), len(sc.segments)
        self.deliv = np.zeros((I, NP), dtype=np.int64)     # delivery costs so far
        self.res = np.zeros((I, NP), dtype=np.int64)       # results receipts so far
        self.mark = np.zeros((I, NC), dtype=np.int64)
        self.settled = np.zeros((I, NC), dtype=np.int64)
        self.paid_corridor = np.zeros(I, dtype=np.int64)
        self.paid_floor = np.zeros(I, dtype=np.int64)
        self.seg_floor = np.zeros((I, S), dtype=np.int64)

    def settle(self, sc, t, live, failed, seg_referrals, seg_paid, rev, cst, fin, m_rev, m_cst,
               bodies):
        """Floors, then corridors; what the commissioner pays or gets back is
        shared by the public bodies (`bodies`, None when it pays alone) like
        a tariff rule (12)."""
        H = sc.H

        def public_side(rule, pay, back):
            """[(account, cost)]: who on the public side pays `pay` and gets
            back `back` (per iteration, at most one of them is non-zero)."""
            if bodies is None:
                return [(0, pay - back)]
            back = [(a, -x) for a, x in bodies.refund(rule, back)]
            return back + bodies.pay(rule, pay, t)

        if t == H - 1:
            for si, F in enumerate(sc.floors):
                if F is None:
                    continue
                paid = sum(seg_paid[k][:, si] for k in ("att", "out", "sus", "imp")) + self.seg_floor[:, si]
                top = np.where(live, np.maximum(0, F * seg_referrals[:, si] - paid), 0)
                self.seg_floor[:, si] += top
                self.paid_floor += top
                for a, x in public_side("floor", top, np.zeros_like(top)):
                    m_cst[:, a] += x
                    cst[:, a] += x
                m_rev[:, 2] += top
                rev[:, 2] += top
        for k, C in enumerate(sc.corridors):
            if C.settle == "yearly" and (t % 12 == 11 or t == H - 1):
                Tp = (C.target * (t % 12 + 1) + 6) // 12
            elif C.settle == "end" and t == H - 1:
                Tp = C.target
            else:
                continue
            a = 2 + C.d
            if C.measure == "cost":
                now = self.deliv[:, C.d].copy()
            elif C.measure == "payments":
                now = self.res[:, C.d].copy()
            else:
                now = rev[:, a] - cst[:, a] - fin[:, C.d] - self.settled[:, k]
            X = now - self.mark[:, k]
            self.mark[:, k] = now
            loss = X - Tp if C.measure == "cost" else Tp - X
            amt = np.where(loss >= 0, banded(np.maximum(loss, 0), Tp, C.pain),
                           -banded(np.maximum(-loss, 0), Tp, C.gain))
            amt = np.where(live & ~failed[:, C.d], amt, 0).astype(np.int64)
            pay, back = np.maximum(amt, 0), np.maximum(-amt, 0)
            # a payment: payer's cost, provider's revenue; a payback is a refund
            sources = public_side("corridor", pay, back) if C.payer == 0 else [(C.payer, pay - back)]
            for m_r, m_c in ((m_rev, m_cst), (rev, cst)):
                for acc, x in sources:
                    m_c[:, acc] += x
                m_r[:, a] += pay - back
            self.settled[:, k] += amt
            if C.payer == 0:
                self.paid_corridor += amt

    def figures(self, sc, out):
        if any(C.payer == 0 for C in sc.corridors):
            out["commissioner.paid.corridor"] = self.paid_corridor / 100.0
        if any(F is not None for F in sc.floors):
            out["commissioner.paid.floor"] = self.paid_floor / 100.0
        for k, C in enumerate(sc.corridors):
            out[f"corridor.{C.label}.settled"] = self.settled[:, k] / 100.0
        for si, F in enumerate(sc.floors):
            if F is not None:
                out[f"segment.{sc.segments[si].id}.paid.floor"] = self.seg_floor[:, si] / 100.0


def run(sc: Scenario, n: int, seed: int, chunk: int = 5000) -> dict:
    rng = np.random.Generator(np.random.PCG64(seed))
    parts = []
    for start in range(0, n, chunk):
        parts.append(simulate(sc, min(chunk, n - start), rng))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def write_csv(path, figs):
    names = list(figs)
    n = len(figs[names[0]])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["iteration"] + names)
        for i in range(n):
            w.writerow([i] + [repr(float(figs[k][i])) if not np.isnan(figs[k][i]) else ""
                              for k in names])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("-n", "--iterations", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=5000, help="iterations per vectorised batch")
    ap.add_argument("--out", help="write one row per iteration to this CSV file")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a scenario value, as pbrsim's --set (repeatable)")
    a = ap.parse_args(argv)
    sc = Scenario(a.scenario, a.set)
    t0 = time.perf_counter()
    figs = run(sc, a.iterations, a.seed, a.chunk)
    dt = time.perf_counter() - t0
    print(f"{sc.name}: {a.iterations} iterations in {dt:.2f} s "
          f"({a.iterations / dt:,.0f} it/s)", file=sys.stderr)
    if a.out:
        write_csv(a.out, figs)
    else:
        for k, v in figs.items():
            print(f"{k:50s} {np.nanmean(v):16.4f}")


if __name__ == "__main__":
    main()
