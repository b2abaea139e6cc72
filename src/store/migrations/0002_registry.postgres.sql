-- Byte order for model names, as SQLite's BINARY collation: ordering, paging and name
-- comparisons agree across backends whatever the cluster's locale (RDS defaults to en_US).
ALTER TABLE registered_models ALTER COLUMN name TYPE TEXT COLLATE "C";
