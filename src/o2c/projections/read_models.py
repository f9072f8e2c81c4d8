"""Every read model, in the order the projector applies them."""

from __future__ import annotations

from o2c.projections.activities import ActivityModel
from o2c.projections.base import ReadModel
from o2c.projections.credit import CreditExposure
from o2c.projections.inventory import Inventory
from o2c.projections.list_models import LIST_MODELS
from o2c.projections.order_status import OrderStatus
from o2c.projections.pipeline import Pipeline
from o2c.projections.receivables import Receivables
from o2c.projections.trial_balance import TrialBalance

READ_MODELS: tuple[type[ReadModel], ...] = (Pipeline, Inventory, TrialBalance, Receivables,
                                            OrderStatus, *LIST_MODELS, ActivityModel,
                                            CreditExposure)
