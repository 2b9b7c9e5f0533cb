"""`wandb.errors`: the exception types scripts catch (all git_exp.Error)."""

from git_exp.wandb import errors as _errors

Error = _errors.Error
CommError = _errors.CommError
UsageError = _errors.UsageError
AuthenticationError = _errors.AuthenticationError
