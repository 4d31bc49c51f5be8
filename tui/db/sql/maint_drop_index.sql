-- What a cancelled or failed concurrent build leaves behind: an INVALID index.
drop index concurrently if exists {index}
