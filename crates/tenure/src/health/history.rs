//! `tenure health history`, `groups`, `override` and `overrides`: stored
//! scores over time and manual scores.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};
use tenure_app::clock::{now_micros, today};
use tenure_app::health::{Interval, OverrideRequest};
use tenure_core::config::Config;
use tenure_core::model::add_days;
use tenure_store::Store;

use super::scores::override_json;
use super::{
    Format, GroupsArgs, HistoryArgs, IntervalArg, OverrideArgs, OverridesArgs, fmt_opt, opt_date,
    parse_date, print_json, truncate,
};
use crate::BadInput;

pub(super) async fn history(store: &Store, args: HistoryArgs) -> Result<()> {
    let from = opt_date(args.from.as_deref(), "--from")?;
    let to = opt_date(args.to.as_deref(), "--to")?;
    let account = &args.account;
    let snaps = tenure_app::health::account_history(store, account, from, to).await?;
    if args.format == Format::Json {
        let list: Vec<Value> = snaps
            .iter()
            .map(|s| {
                json!({
                    "day": s.day.to_string(),
                    "score": s.score,
                    "band": s.band.map(|b| b.as_str()),
                    "computed": s.computed,
                    "override_id": s.override_id,
                    "scorecard_version": s.scorecard_version,
                })
            })
            .collect();
        return print_json(&json!({ "account_id": account, "snapshots": list }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<10} {:>6} {:<7} {:>8} {:<9} note",
        "day", "score", "band", "computed", "scorecard"
    )?;
    for s in &snaps {
        writeln!(
            out,
            "{:<10} {:>6} {:<7} {:>8} {:<9} {}",
            s.day.to_string(),
            fmt_opt(s.score, 1),
            s.band.map_or("-", |b| b.as_str()),
            fmt_opt(s.computed, 1),
            s.scorecard_version,
            if s.override_id.is_some() {
                "override"
            } else {
                ""
            }
        )?;
    }
    if snaps.is_empty() {
        eprintln!("no snapshots for {account}: run `tenure health recompute --from DATE`");
    }
    Ok(())
}

pub(super) async fn groups(store: &Store, args: GroupsArgs) -> Result<()> {
    let to = opt_date(args.to.as_deref(), "--to")?.unwrap_or_else(today);
    let from = opt_date(args.from.as_deref(), "--from")?.unwrap_or(add_days(to, -90));
    let interval = match args.interval {
        IntervalArg::Day => Interval::Day,
        IntervalArg::Week => Interval::Week,
        IntervalArg::Month => Interval::Month,
    };
    let by = &args.by;
    let rows = tenure_app::health::groups(store, by, from, to, interval).await?;
    if args.format == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "day": r.day.to_string(), "group": r.group, "accounts": r.accounts,
                    "mean_score": r.mean_score,
                    "red": r.red, "yellow": r.yellow, "green": r.green,
                })
            })
            .collect();
        return print_json(&json!({ "by": by, "groups": list }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<10} {:<30} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "day", by, "accounts", "mean", "red", "yellow", "green"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<10} {:<30} {:>8} {:>6} {:>6} {:>6} {:>6}",
            r.day.to_string(),
            truncate(&r.group, 30),
            r.accounts,
            fmt_opt(r.mean_score, 1),
            r.red,
            r.yellow,
            r.green
        )?;
    }
    if rows.is_empty() {
        eprintln!(
            "no snapshots from {from} to {to}: run `tenure health recompute --from {from} --to {to}`"
        );
    }
    Ok(())
}

pub(super) async fn set_override(store: &Store, config: &Config, args: OverrideArgs) -> Result<()> {
    let (clear, account) = match args.target.as_slice() {
        [cmd, account] if cmd == "clear" => (true, account.clone()),
        [account] => (args.clear, account.clone()),
        _ => {
            return Err(BadInput(
                "expected `override ACCOUNT --score N ...` or `override clear ACCOUNT`".into(),
            )
            .into());
        }
    };
    let author = args
        .author
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .ok_or_else(|| BadInput("who sets it? pass --author EMAIL (or set $USER)".into()))?;
    let today = today();
    if clear {
        let n = tenure_app::health::clear_overrides(
            store,
            config,
            &account,
            &author,
            today,
            now_micros(),
        )
        .await?;
        if n == 0 {
            eprintln!("{account} has no override to clear");
        } else {
            eprintln!("cleared {n} override(s) of {account} from {today}");
        }
        return Ok(());
    }
    let score = args
        .score
        .ok_or_else(|| BadInput("--score is required (0 to 100)".into()))?;
    let reason = args
        .reason
        .ok_or_else(|| BadInput("--reason is required: say why the data is wrong".into()))?;
    let until = parse_date(
        args.until
            .as_deref()
            .ok_or_else(|| BadInput("--until DATE is required: overrides expire".into()))?,
        "--until",
    )?;
    let req = OverrideRequest {
        account_id: account.clone(),
        score,
        reason,
        until,
        author: author.clone(),
    };
    let id = tenure_app::health::set_override(store, config, &req, today, now_micros()).await?;
    eprintln!("override {id}: {account} scores {score} from {today} until {until} (by {author})");
    Ok(())
}

pub(super) async fn list_overrides(store: &Store, args: OverridesArgs) -> Result<()> {
    let today = today();
    let rows = tenure_app::health::list_overrides(store, args.all, today).await?;
    if args.format == Format::Json {
        let list: Vec<Value> = rows
            .iter()
            .map(|o| {
                let mut v = override_json(o);
                v["applies_today"] = json!(o.applies_on(today));
                v
            })
            .collect();
        return print_json(&json!({ "overrides": list }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:>4} {:<20} {:>5} {:<10} {:<10} {:<24} {:<8} reason",
        "id", "account", "score", "set on", "until", "author", "status"
    )?;
    for o in &rows {
        let status = if o.applies_on(today) {
            "active"
        } else if o.cleared_on.is_some() {
            "cleared"
        } else if o.until < today {
            "expired"
        } else {
            "pending"
        };
        writeln!(
            out,
            "{:>4} {:<20} {:>5.0} {:<10} {:<10} {:<24} {:<8} {}",
            o.id,
            truncate(&o.account_id, 20),
            o.score,
            o.set_on.to_string(),
            o.until.to_string(),
            truncate(&o.author, 24),
            status,
            o.reason
        )?;
    }
    Ok(())
}
