-- Rasa's SQL tracker store uses a fixed table name: each bot gets a database of its own.
CREATE DATABASE marvin_tracker;
CREATE DATABASE bender_tracker;
