-- 0011: placeholder on branch wt-slots only, so that 0012 applies here.
-- Another branch owns number 0011; drop this file at merge.
SELECT 1;
