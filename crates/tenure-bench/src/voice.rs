//! `tenure-bench voice`: what the voice of the customer adds to the
//! background job's pass and what its pages cost, on a demo company,
//! against today's health recompute measured in the same run. The
//! configuration is the demo's (`tenure_core::demo::config`: a quarterly
//! NPS survey to every contact of the paying accounts, and its feedback
//! themes). Timed:
//!
//! - **surveys decided**: who the day's pass sends a survey to (audience,
//!   trigger, fatigue over every contact), with the reads it needs, without
//!   the writes (`tenure_app::surveys::decide`);
//! - **feedback refresh**: the job's step that makes feedback of survey
//!   comments, tickets and notes and tags their themes
//!   (`tenure_app::feedback::refresh`); its first run on a database writes
//!   every item (reported apart), the later ones find nothing changed,
//!   which is what each pass pays;
//! - **requests ranked**: `/requests` ranking every request by the ARR of
//!   the accounts asking and the ARR at risk among them
//!   (`tenure_app::feedback::ranking`). When the database has no request,
//!   the benchmark makes [`REQUESTS`] requests asked by [`ASKING`]
//!   accounts each (written once, kept for the next runs).

use std::time::Instant;

use anyhow::Result;
use jiff::civil::Date;
use serde_json::json;
use tenure_app::engage::daily;
use tenure_app::health::{Quiet, recompute};
use tenure_core::feedback::RankBy;
use tenure_store::Store;
use tenure_store::api::Scope;

use crate::engage::{best, secs, timed};
use crate::health::demo_work_db;

/// Requests made when the database has none, and accounts asking each.
const REQUESTS: usize = 20;
const ASKING: usize = 200;

/// The same settings as `tenure-bench plays`: the demo company and its
/// work folder, and the timed runs.
pub type BenchVoiceArgs = crate::plays::BenchPlaysArgs;

pub async fn run(args: BenchVoiceArgs) -> Result<()> {
    let (end, url, work) = demo_work_db(
        args.accounts,
        args.seed,
        &args.end,
        args.days,
        &args.work,
        args.runs,
    )
    .await?;
    let store = Store::open(&url).await?;
    let config =
        tenure_core::config::parse_config(&tenure_core::demo::config::demo_config(args.accounts))
            .map_err(|e| anyhow::anyhow!("the demo configuration: {e:?}"))?;

    let (recompute_s, _, _) = timed(args.runs, || async {
        Ok(recompute(&store, &config, end, end, &Quiet).await?)
    })
    .await?;
    // The day's facts, as the job has them after its pass (untimed).
    let day = daily(&store, &config, end).await?;
    let (decide_s, decide_mib, picked) = timed(args.runs, || async {
        Ok(tenure_app::surveys::decide(&store, &config, &day).await?)
    })
    .await?;

    let t = Instant::now();
    let first = tenure_app::feedback::refresh(&store, &config).await?;
    let first_refresh_s = secs(t);
    let (refresh_s, refresh_mib, again) = timed(args.runs, || async {
        Ok(tenure_app::feedback::refresh(&store, &config).await?)
    })
    .await?;

    let made = make_requests(&store, &config, &day, end).await?;
    let (rank_s, rank_mib, ranking) = timed(args.runs, || async {
        Ok(
            tenure_app::feedback::ranking(&store, &config, &Scope::All, RankBy::Arr, None, end)
                .await?,
        )
    })
    .await?;

    let r = best(&recompute_s);
    let out = json!({
        "settings": {"accounts": args.accounts, "seed": args.seed, "end": end.to_string(),
                     "days": args.days, "runs": args.runs},
        "recompute_s": recompute_s,
        "surveys_decide_s": decide_s,
        "surveys_decide_peak_added_mib": decide_mib,
        "surveys_decide_over_recompute": best(&decide_s) / r,
        "surveys_would_send": picked.len(),
        "feedback_first_refresh_s": first_refresh_s,
        "feedback_first_refresh_added": first.added,
        "feedback_refresh_s": refresh_s,
        "feedback_refresh_peak_added_mib": refresh_mib,
        "feedback_refresh_over_recompute": best(&refresh_s) / r,
        "feedback_refresh_changed": again.added + again.updated + again.removed,
        "requests_made_now": made,
        "requests": ranking.rows.len(),
        "requests_rank_s": rank_s,
        "requests_rank_peak_added_mib": rank_mib,
        "requests_rank_over_recompute": best(&rank_s) / r,
    });
    std::fs::write(
        work.join("bench-voice.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    eprintln!(
        "recompute {r:.3} s; surveys decided {:.3} s ({} would be sent); feedback refresh {:.3} s (first {first_refresh_s:.3} s, {} items); {} requests ranked {:.3} s",
        best(&decide_s),
        picked.len(),
        best(&refresh_s),
        first.added,
        ranking.rows.len(),
        best(&rank_s),
    );
    Ok(())
}

/// Makes [`REQUESTS`] requests asked by [`ASKING`] paying accounts each
/// (spread over the customers) when the database has none; how many were
/// made.
async fn make_requests(
    store: &Store,
    config: &tenure_core::config::Config,
    day: &tenure_app::engage::EngageDay,
    end: Date,
) -> Result<usize> {
    if !store.requests().await?.is_empty() {
        return Ok(0);
    }
    let paying: Vec<&str> = day
        .accounts
        .iter()
        .filter(|a| a.account.is_customer_on(a.facts.mrr, end))
        .map(|a| a.account.id.as_str())
        .collect();
    if paying.is_empty() {
        return Ok(0);
    }
    for r in 0..REQUESTS {
        let account_ids = (0..ASKING)
            .map(|k| paying[(r * 7919 + k * 104_729) % paying.len()].to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        tenure_app::feedback::create(
            store,
            config,
            &Scope::All,
            &tenure_app::feedback::NewRequest {
                title: format!("Benchmark request {}", r + 1),
                description: None,
                account_ids,
                feedback_id: None,
            },
            Some("tenure-bench"),
            end,
        )
        .await?;
    }
    Ok(REQUESTS)
}
