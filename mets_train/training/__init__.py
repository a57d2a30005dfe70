"""Training at scale and evaluation (issue 3): `mets train`, `mets evaluate`.

    from mets_train import CONFIG_DIR
    from mets_train.training import train, load_config
    train(load_config(CONFIG_DIR / "train_default.json"), resume=False)
"""
from .config import DEFAULTS, ConfigError, load_config, make_config
from .loop import train

__all__ = ["DEFAULTS", "ConfigError", "load_config", "make_config", "train"]
