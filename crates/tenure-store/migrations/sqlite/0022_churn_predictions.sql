-- The churn model's daily predictions (docs/CHURN.md): each day the job
-- (or `tenure churn predict --save`) writes every paying account's
-- probability of churn within the model's horizon, its band and the
-- features that raise it most (JSON: [{"reason": words, "log_odds": x}]).
-- A day is written whole, replacing that day's earlier rows.
CREATE TABLE churn_predictions (
    day TEXT NOT NULL,
    account_id TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    probability REAL NOT NULL,
    band TEXT NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (day, account_id)
);
CREATE INDEX churn_predictions_by_account ON churn_predictions (account_id, day);
