import pytest

from migration.errors import GalleryNotFound, InvalidRequest, TransientArmError, UnexpectedError, error_from_failure
from migration.settings import Settings, env_names, settings_table


def test_domain_error_survives_the_activity_boundary() -> None:
    raised = Exception(
        "Activity function 'plan_migration' failed: GalleryNotFound: gallery g does not exist \n {\"$type\": 1}"
    )
    error = error_from_failure(raised)
    assert isinstance(error, GalleryNotFound)
    assert error.message == "gallery g does not exist"
    assert error_from_failure(Exception("Activity function 'x' failed:  TransientArmError: 429")).retryable
    assert isinstance(
        error_from_failure(Exception("Activity function 'x' failed: TransientArmError: 429")), TransientArmError
    )


def test_unknown_failures_are_unexpected_errors() -> None:
    error = error_from_failure(Exception("Activity function 'x' failed: KeyError: 'boom'\n details"))
    assert isinstance(error, UnexpectedError)
    assert "KeyError" in error.message


def test_settings_from_env_and_errors() -> None:
    cfg = Settings.from_env({"REPLICATION_POLL_MIN_SECONDS": "30", "ARM_ENDPOINT": "https://127.0.0.1:7080/"})
    assert cfg.poll_min_seconds == 30
    assert cfg.resolved_arm_endpoint == "https://127.0.0.1:7080"
    assert cfg.arm_scope == "https://management.azure.com/.default"
    assert Settings.from_env({}).resolved_arm_endpoint == "https://management.azure.com"
    with pytest.raises(InvalidRequest, match="REPLICATION_POLL_MIN_SECONDS"):
        Settings.from_env({"REPLICATION_POLL_MIN_SECONDS": "soon"})
    with pytest.raises(InvalidRequest, match="SCALE_SET_CHECK_SCOPE"):
        Settings.from_env({"SCALE_SET_CHECK_SCOPE": "planet"})


def test_every_setting_is_documented() -> None:
    names = env_names()
    assert len(names) == len(set(names))
    assert all(description for _, _, description in settings_table())
