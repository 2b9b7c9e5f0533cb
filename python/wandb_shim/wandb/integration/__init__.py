"""`wandb.integration`: the framework integrations scripts import from wandb (Keras, XGBoost, LightGBM)."""
