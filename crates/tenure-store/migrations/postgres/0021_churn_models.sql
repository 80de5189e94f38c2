-- Trained churn models (docs/CHURN.md): one row per `tenure churn train`,
-- numbered from 1; the latest predicts. The model (features, scaling,
-- coefficients, the bands' cut-offs) and its validation metrics are JSON
-- text, written and read only by tenure-store's `churn` module.
CREATE TABLE churn_models (
    version BIGINT PRIMARY KEY,
    trained_at BIGINT NOT NULL,
    horizon_days BIGINT NOT NULL,
    train_from TEXT NOT NULL,
    train_to TEXT NOT NULL,
    test_from TEXT NOT NULL,
    test_to TEXT NOT NULL,
    health_version TEXT NOT NULL,
    model TEXT NOT NULL,
    metrics TEXT NOT NULL
);
