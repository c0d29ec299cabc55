"""The policy rules, in the one order they run: adding a rule is one file and one line here.

The order only decides the order of findings in a moderator's notice (the
strongest action wins whatever the order), so the rules a moderator should
read first come first.
"""

from collections.abc import Mapping
from types import MappingProxyType

from relay.policy.rules import (
    attachments,
    contact_address,
    contact_email,
    contact_links,
    contact_phone,
    contact_social,
    pairing_on_hold,
    premoderation,
    sender_authentication,
    suspended_sender,
    uninspectable,
    words,
)
from relay.policy.rules.base import Rule

RULES: tuple[Rule, ...] = (
    words.RULE,  # safeguarding first: urgent words head the notice
    uninspectable.RULE,
    contact_email.RULE,
    contact_phone.RULE,
    contact_social.RULE,
    contact_address.RULE,
    contact_links.RULE,
    attachments.RULE,
    premoderation.RULE,
    suspended_sender.RULE,  # decisions taken before the message came: moderators' and the sender check's
    pairing_on_hold.RULE,
    sender_authentication.RULE,
)

RULES_BY_NAME: Mapping[str, Rule] = MappingProxyType({rule.name: rule for rule in RULES})
