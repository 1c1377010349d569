from app.page import function_page

function_page("three_hump_camel")
