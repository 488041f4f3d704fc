/*
 * mailq - lists the mail queue: the same as "postqueue -p".
 */
import './postqueue-main.js';
