-- The connection's platform is its `platform` column; its settings no longer repeat it.
update connection set platform_config = platform_config - 'platform' where platform_config ? 'platform';
