"""The rest of the privacy policy, beyond the release: does the GA4 property keep what the policy
promises (`property_check`), and data-subject requests in Hotjar and GA4 (`dsr`).

Nothing here reads or writes statistics or the release. Configuration comes in as the small
dataclasses of `kanon.policy.config`, built from Kanon's settings by `kanon.policy_setup`, so this
package does not depend on how settings are read.
"""
