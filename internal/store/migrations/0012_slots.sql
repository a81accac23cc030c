-- 0012: deployment slots, slot swaps and traffic routing (docs/slots.md).

-- A slot is a site row named "<app>-<slot>": slot_of names its app (the
-- production row) and slot_name the slot. Deleting the app deletes its slots
-- (and with them their settings, deployments and host names).
ALTER TABLE sites ADD COLUMN slot_of TEXT DEFAULT NULL COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE;
ALTER TABLE sites ADD COLUMN slot_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
CREATE UNIQUE INDEX sites_slot ON sites (slot_of, slot_name) WHERE slot_of IS NOT NULL;

-- siteConfig.autoSwapSlotName of a slot: "" = off.
ALTER TABLE sites ADD COLUMN auto_swap_slot TEXT NOT NULL DEFAULT '';
-- siteConfig.experiments.rampUpRules of a production site, as JSON
-- [{"slot":"staging","percent":20}].
ALTER TABLE sites ADD COLUMN ramp_up_rules TEXT NOT NULL DEFAULT '[]';

-- At most one swap per app is under way; its phase survives a restart so
-- that recovery can finish or undo it (docs/slots.md §2).
CREATE TABLE slot_swaps (
	app     TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES sites (name) ON DELETE CASCADE,
	source  TEXT NOT NULL COLLATE NOCASE,
	target  TEXT NOT NULL COLLATE NOCASE,
	phase   TEXT NOT NULL CHECK (phase IN ('preview', 'warming')),
	started INTEGER NOT NULL
);
