//! `tenure health` (the list worst first, or one account explained) and
//! `tenure health diff`.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};
use tenure_app::health::{AccountScore, Diff, DiffMeasure, DiffSide, ScoresQuery};
use tenure_core::config::Config;
use tenure_core::health::MeasureResult;
use tenure_store::Store;
use tenure_store::health::OverrideRow;

use super::{
    DiffArgs, Format, ShowArgs, fmt_delta, fmt_opt, fmt_raw, opt_date, parse_date, print_json,
    truncate,
};

fn measure_json(m: &MeasureResult) -> Value {
    json!({
        "name": &*m.name,
        "kind": m.kind,
        "raw": m.raw,
        "normalised": m.normalised,
        "weight": m.weight,
        "effective_weight": m.effective_weight,
        "contribution": m.contribution,
        "percentile": m.percentile,
        "compared_with": m.compared_with.as_deref(),
    })
}

/// What the company's data lacks: the measures no listed account has data
/// for, with the input each reads.
fn lacking_json(scores: &[AccountScore]) -> Vec<Value> {
    tenure_core::health::lacking(scores.iter().map(|s| &s.scored.score))
        .into_iter()
        .map(|(name, input)| json!({"measure": &*name, "input": input}))
        .collect()
}

/// An override as JSON (also `tenure health overrides --format json`).
pub(super) fn override_json(o: &OverrideRow) -> Value {
    json!({
        "id": o.id,
        "account_id": o.account_id,
        "score": o.score,
        "reason": o.reason,
        "author": o.author,
        "set_on": o.set_on.to_string(),
        "until": o.until.to_string(),
        "cleared_on": o.cleared_on.map(|d| d.to_string()),
        "cleared_by": o.cleared_by,
    })
}

fn score_json(s: &AccountScore, as_of: jiff::civil::Date) -> Value {
    let sc = &s.scored.score;
    json!({
        "account_id": s.account.id,
        "name": s.account.name,
        "as_of": as_of.to_string(),
        "score": sc.score,
        "band": sc.band.map(|b| b.as_str()),
        "computed": sc.computed,
        "computed_band": sc.computed_band.map(|b| b.as_str()),
        "measures": sc.measures.iter().map(measure_json).collect::<Vec<_>>(),
        "missing": sc.missing().collect::<Vec<_>>(),
        "override": s.scored.override_row.as_ref().map(override_json),
        "delta_7d": s.d7,
        "delta_30d": s.d30,
        "scorecard": &*sc.scorecard_name,
        "scorecard_version": &*sc.scorecard_version,
        "mrr": s.scored.mrr,
    })
}

pub(super) async fn show(store: &Store, config: &Config, args: ShowArgs) -> Result<()> {
    let as_of =
        opt_date(args.as_of.as_deref(), "--as-of")?.unwrap_or_else(tenure_app::clock::today);
    let query = ScoresQuery {
        account: args.account.clone(),
        all: args.all,
    };
    let scores = tenure_app::health::scores(store, config, as_of, &query).await?;
    if args.format == Format::Json {
        let list: Vec<Value> = scores
            .accounts
            .iter()
            .map(|s| score_json(s, as_of))
            .collect();
        let v = if args.account.is_some() {
            list.into_iter().next().unwrap_or(Value::Null)
        } else {
            json!({
                "as_of": as_of.to_string(),
                "config_version": scores.config_version,
                "lacking": lacking_json(&scores.accounts),
                "accounts": list,
            })
        };
        return print_json(&v);
    }
    let mut out = std::io::stdout().lock();
    if args.account.is_some() {
        if let Some(s) = scores.accounts.first() {
            print_explanation(&mut out, s)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:<28} {:>6} {:<7} {:>6} {:>6}  {:<9} note",
        "account", "name", "score", "band", "Δ7d", "Δ30d", "scorecard"
    )?;
    for s in &scores.accounts {
        let sc = &s.scored.score;
        let missing: Vec<&str> = sc.missing().collect();
        let mut note = String::new();
        if let Some(o) = &s.scored.override_row {
            note.push_str(&format!("override by {} until {}", o.author, o.until));
        }
        if !missing.is_empty() {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!("missing: {}", missing.join(", ")));
        }
        writeln!(
            out,
            "{:<20} {:<28} {:>6} {:<7} {:>6} {:>6}  {:<9} {}",
            truncate(&s.account.id, 20),
            truncate(&s.account.name, 28),
            fmt_opt(sc.score, 1),
            sc.band.map_or("-", |b| b.as_str()),
            fmt_delta(s.d7),
            fmt_delta(s.d30),
            &*sc.scorecard_version,
            note
        )?;
    }
    eprintln!("{} accounts as of {as_of}", scores.accounts.len());
    let lacking = tenure_core::health::lacking(scores.accounts.iter().map(|s| &s.scored.score));
    if !lacking.is_empty() {
        let list: Vec<String> = lacking
            .iter()
            .map(|(name, input)| format!("{input} ({name})"))
            .collect();
        eprintln!(
            "the company's data lacks {}: no account has data for these measures, so they are left out and the others re-weighted",
            list.join(", ")
        );
    }
    Ok(())
}

fn print_explanation(out: &mut impl Write, s: &AccountScore) -> std::io::Result<()> {
    let (a, sc) = (&s.account, &s.scored.score);
    writeln!(out, "{} ({}) as of {}", a.name, a.id, sc.as_of)?;
    writeln!(
        out,
        "scorecard {} version {}",
        sc.scorecard_name, sc.scorecard_version
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:>10} {:>7} {:>7} {:>6} {:>12}",
        "measure", "raw", "points", "weight", "share", "contribution"
    )?;
    for m in &sc.measures {
        writeln!(
            out,
            "{:<28} {:>10} {:>7} {:>7} {:>6} {:>12}",
            truncate(&m.name, 28),
            fmt_raw(m.raw),
            fmt_opt(m.normalised, 1),
            fmt_raw(Some(m.weight)),
            m.effective_weight
                .map_or("-".to_string(), |w| format!("{:.0}%", w * 100.0)),
            if m.raw.is_some() {
                format!("{:.2}", m.contribution)
            } else {
                "missing".to_string()
            },
        )?;
    }
    writeln!(
        out,
        "{:<28} {:>46}",
        "computed score",
        match (sc.computed, sc.computed_band) {
            (Some(c), Some(b)) => format!("{c:.2} ({})", b.as_str()),
            _ => "no data".to_string(),
        }
    )?;
    if let Some(o) = &s.scored.override_row {
        writeln!(
            out,
            "override: {:.0} ({}) by {}, set {} until {}: {}",
            o.score,
            sc.band.map_or("-", |b| b.as_str()),
            o.author,
            o.set_on,
            o.until,
            o.reason
        )?;
    }
    writeln!(
        out,
        "score {} {}   Δ7d {}   Δ30d {}   MRR {:.2}",
        fmt_opt(sc.score, 2),
        sc.band.map_or("", |b| b.as_str()),
        fmt_delta(s.d7),
        fmt_delta(s.d30),
        s.scored.mrr
    )?;
    for m in &sc.measures {
        if let Some(standing) = m.standing() {
            writeln!(out, "{}: {standing}", m.name)?;
        }
    }
    let missing: Vec<&str> = sc.missing().collect();
    if !missing.is_empty() {
        writeln!(
            out,
            "missing (left out, others re-weighted): {}",
            missing.join(", ")
        )?;
    }
    Ok(())
}

pub(super) async fn diff(store: &Store, config: &Config, args: DiffArgs) -> Result<()> {
    let since = parse_date(&args.since, "--since")?;
    let today = tenure_app::clock::today();
    let d = tenure_app::health::diff(store, config, &args.account, since, today).await?;
    if args.format == Format::Json {
        return print_json(&diff_json(&d));
    }
    print_diff(&mut std::io::stdout().lock(), &d)?;
    Ok(())
}

fn diff_json(d: &Diff) -> Value {
    let measure = |m: Option<&DiffMeasure>| {
        m.map(|m| json!({"raw": m.raw, "normalised": m.points, "contribution": m.contribution}))
    };
    let list: Vec<Value> = d
        .names
        .iter()
        .map(|n| {
            let (t, w) = (d.then.measure(n), d.now.measure(n));
            json!({
                "name": n,
                "then": measure(t),
                "now": measure(w),
                "contribution_change": t.zip(w).map(|(t, w)| w.contribution - t.contribution),
            })
        })
        .collect();
    let side = |s: &DiffSide| {
        json!({"day": s.day.to_string(), "source": s.source, "score": s.score,
               "band": s.band.map(|b| b.as_str()), "scorecard_version": s.scorecard_version})
    };
    json!({
        "account_id": d.account_id, "since": side(&d.then), "now": side(&d.now),
        "score_change": d.score_change(), "measures": list,
    })
}

fn print_diff(out: &mut impl Write, d: &Diff) -> std::io::Result<()> {
    let (then, now) = (&d.then, &d.now);
    writeln!(
        out,
        "{} ({}): {} ({}) → {} ({})",
        d.account_name, d.account_id, then.day, then.source, now.day, now.source
    )?;
    if then.scorecard_version != now.scorecard_version {
        writeln!(
            out,
            "note: the scorecard changed ({} → {}); measures are matched by name",
            then.scorecard_version, now.scorecard_version
        )?;
    }
    writeln!(out)?;
    let row = |out: &mut dyn Write, cells: [&str; 8]| {
        writeln!(
            out,
            "{:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8} {:>8}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
        )
    };
    row(
        out,
        [
            "measure", "raw then", "raw now", "pts then", "pts now", "contrib", "contrib", "change",
        ],
    )?;
    for n in &d.names {
        let (t, w) = (then.measure(n), now.measure(n));
        let c = |m: Option<&DiffMeasure>| m.map(|m| m.contribution);
        let change = match (c(t), c(w)) {
            (Some(a), Some(b)) => format!("{:+.2}", b - a),
            _ => "-".into(),
        };
        row(
            out,
            [
                &truncate(n, 28),
                &fmt_raw(t.and_then(|m| m.raw)),
                &fmt_raw(w.and_then(|m| m.raw)),
                &fmt_opt(t.and_then(|m| m.points), 0),
                &fmt_opt(w.and_then(|m| m.points), 0),
                &fmt_opt(c(t), 2),
                &fmt_opt(c(w), 2),
                &change,
            ],
        )?;
    }
    row(
        out,
        [
            "score",
            "",
            "",
            "",
            "",
            &fmt_opt(then.score, 2),
            &fmt_opt(now.score, 2),
            &fmt_delta(d.score_change()),
        ],
    )?;
    writeln!(
        out,
        "band: {} → {}",
        then.band.map_or("-", |b| b.as_str()),
        now.band.map_or("-", |b| b.as_str())
    )
}
