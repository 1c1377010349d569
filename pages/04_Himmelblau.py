from app.page import function_page

function_page("himmelblau")
