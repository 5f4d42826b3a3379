//! `[termination]`: when the commissioner may end the contract early, and
//! what it pays the prime when it does.

use super::{Checker, MAX_AMOUNT, MAX_MONTHS, Time, shown};
use crate::error::suggest;
use crate::model::{COMMISSIONER, NetTrigger, Provider, Termination, to_pence};
use crate::scenario::raw::RawTermination;

/// `[termination]`, if the scenario has it.
pub fn termination(
    c: &mut Checker,
    raw: Option<&RawTermination>,
    time: Time,
    providers: &[Provider],
) -> Option<Termination> {
    let raw = raw?;
    let break_month = raw.break_month.map(|m| {
        let m = m as usize;
        if m >= time.horizon {
            c.err(
                "termination.break_month",
                format!(
                    "must be a month of the contract, 0 to horizon_months - 1 ({}), got {m}",
                    time.horizon - 1
                ),
            );
            return 0;
        }
        m
    });
    let on_net = raw.on_net.as_ref().map(|t| {
        let mut parties: Vec<&str> = vec!["commissioner"];
        parties.extend(providers.iter().map(|p| p.id.as_str()));
        let account = match parties.iter().position(|p| *p == t.party) {
            Some(0) => COMMISSIONER,
            Some(d) => crate::model::PRIME + d - 1,
            None => {
                c.err_help(
                    "termination.on_net.party",
                    format!(
                        "`{}` is not the commissioner, the prime or a subcontractor",
                        t.party
                    ),
                    suggest(&t.party, &parties),
                );
                COMMISSIONER
            }
        };
        if !(t.below.is_finite() && t.below.abs() <= MAX_AMOUNT) {
            c.err(
                "termination.on_net.below",
                format!(
                    "must be an amount of money between -{MAX_AMOUNT:e} and {MAX_AMOUNT:e}, got {}",
                    shown(t.below)
                ),
            );
            return NetTrigger { account, below: 0 };
        }
        NetTrigger {
            account,
            below: to_pence(t.below),
        }
    });
    if break_month.is_none() && on_net.is_none() {
        c.err(
            "termination",
            "says nothing ends the contract: give break_month, [termination.on_net] or both".into(),
        );
    }
    let notice_months = if raw.notice_months > MAX_MONTHS {
        c.err(
            "termination.notice_months",
            format!(
                "must be between 0 and {MAX_MONTHS} months, got {}",
                raw.notice_months
            ),
        );
        0
    } else {
        raw.notice_months as usize
    };
    Some(Termination {
        break_month,
        on_net,
        notice_months,
        payment: c.money("termination.payment", raw.payment),
    })
}
